// The RPC entry of a logic service (entrypoint.ts), called as the gateway calls it: the identity
// context checked at the boundary, and the call's telemetry a span of the caller's trace when the
// Worker exports, with one idle telemetry per isolate when it does not.
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createServiceApp } from "../src/app";
import { logicServiceEntrypoint } from "../src/entrypoint";
import { identity } from "../src/test";

const app = createServiceApp<{ DB: D1Database }>("notes");
app.get("/trace", (c) => {
  const tel = c.env.TELEMETRY;
  return c.json({ trace: tel?.traceId ?? null, parent: tel?.parentSpanId ?? null, organization: c.env.IDENTITY.organization_id });
});
const Notes = logicServiceEntrypoint<{ DB: D1Database } & Record<string, unknown>>("notes", app);

const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
/** An unsampled caller's trace: a recording service continues it and exports nothing for it. */
const traceparent = () => `00-${hex(16)}-${hex(8)}-00`;

async function call(vars: Record<string, unknown>, context: unknown) {
  const ctx = createExecutionContext();
  const service = new Notes(ctx, { DB: (env as unknown as { DB: D1Database }).DB, ...vars } as never);
  const res = await service.handle(new Request("https://notes.internal/trace"), context);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("a logic service's RPC entry", () => {
  it("with no OTLP endpoint answers every call, hands the app no telemetry, and still checks the identity context", async () => {
    for (const tp of [traceparent(), traceparent(), undefined]) {
      const res = await call({}, identity(undefined, { traceparent: tp }));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ trace: null, parent: null, organization: identity().organization_id });
    }
    for (const bad of [undefined, {}, { ...identity(), organization_id: "" }, { ...identity(), permissions: { notes: ["fly"] } }]) {
      const res = await call({}, bad);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("with an endpoint, each call is a span of its own caller's trace, whatever calls came before without one", async () => {
    await call({}, identity());
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/", OTEL_METRIC_EXPORT_INTERVAL: "999999999" };
    for (let i = 0; i < 3; i++) {
      const tp = traceparent();
      const res = await call(on, identity(undefined, { traceparent: tp }));
      expect(res.status).toBe(200);
      const [, trace, parent] = tp.split("-");
      expect(await res.json()).toMatchObject({ trace, parent });
    }
    // Off again (another env of the same isolate): no telemetry reaches the app.
    expect(await (await call({}, identity(undefined, { traceparent: traceparent() }))).json()).toMatchObject({ trace: null });
  });
});
