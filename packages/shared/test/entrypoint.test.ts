// The RPC entry of a logic service (entrypoint.ts), called as the gateway calls it: the identity
// context checked at the boundary, and the call's telemetry a span of the caller's trace when the
// Worker exports, with one idle telemetry per isolate when it does not.
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createServiceApp } from "../src/app";
import { logicServiceEntrypoint } from "../src/entrypoint";
import { IDENTITY_CONTEXT_HEADER, identityContextHeaderValue } from "../src/contract";
import { identity } from "../src/test";

const app = createServiceApp<{ DB: D1Database }>("notes");
app.get("/trace", (c) => {
  const tel = c.env.TELEMETRY;
  return c.json({ trace: tel?.traceId ?? null, parent: tel?.parentSpanId ?? null, organization: c.env.IDENTITY.organization_id });
});
// What the app sees of the call: every header name, and the body's length.
app.post("/seen", async (c) =>
  c.json({
    headers: [...c.req.raw.headers.keys()],
    bytes: (await c.req.arrayBuffer()).byteLength,
    organization: c.env.IDENTITY.organization_id,
    user: c.env.IDENTITY.user_id,
    roles: c.env.IDENTITY.roles,
  }),
);
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

  it("the gateway's call over the binding's fetch: the context from its header, which the app never sees; no valid context, handle's 401", async () => {
    const fetchAs = async (header: string | undefined, body?: BodyInit) => {
      const ctx = createExecutionContext();
      const service = new Notes(ctx, { DB: (env as unknown as { DB: D1Database }).DB } as never);
      const headers = new Headers({ "content-type": "application/octet-stream", "x-request-id": "req-0000000001" });
      if (header !== undefined) headers.set(IDENTITY_CONTEXT_HEADER, header);
      const res = await service.fetch(new Request("https://notes.internal/seen", { method: "POST", headers, body: body ?? "abc" }));
      await waitOnExecutionContext(ctx);
      return res;
    };
    const me = identity();
    // As the gateway sends it, and with blanks around and inside it (JSON allows them).
    for (const header of [JSON.stringify(me), ` \t${JSON.stringify(me, null, "\t").replaceAll("\n", " ")}  `]) {
      const res = await fetchAs(header);
      expect(res.status).toBe(200);
      const seen = await res.json<{ headers: string[]; bytes: number; organization: string }>();
      expect(seen.organization).toBe(me.organization_id);
      expect(seen.headers).not.toContain(IDENTITY_CONTEXT_HEADER);
      expect(seen.headers).toContain("x-request-id");
      expect(seen.bytes).toBe(3);
    }
    // Names from an external identity provider in any script (Latin-1, CJK, an emoji's surrogate
    // pair): the header carries them as printable ASCII, and they arrive as they were.
    const named = identity(undefined, { user_id: "https://idp.example#jürgen-管理-😀", roles: ["管理者", "équipe", "viewer"] });
    const escaped = identityContextHeaderValue(named);
    expect(escaped).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(escaped)).toEqual(named);
    const seenNamed = await (await fetchAs(escaped)).json<{ user: string; roles: string[] }>();
    expect(seenNamed).toMatchObject({ user: named.user_id, roles: named.roles });
    // A streamed body reaches the app whole.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 64; i++) c.enqueue(new Uint8Array(16 * 1024).fill(i));
        c.close();
      },
    });
    const streamed = await fetchAs(JSON.stringify(me), stream);
    expect((await streamed.json<{ bytes: number }>()).bytes).toBe(64 * 16 * 1024);
    // No header, not JSON, JSON of no context, a context that fails its schema: 401, a problem, the app never runs.
    for (const bad of [
      undefined,
      "",
      "not json",
      "{",
      "null",
      "[]",
      '"x"',
      "{}",
      JSON.stringify({ ...me, organization_id: "" }),
      JSON.stringify({ ...me, permissions: { notes: ["fly"] } }),
    ]) {
      const res = await fetchAs(bad);
      expect(res.status, String(bad)).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect((await res.json<{ request_id: string }>()).request_id).toBe("req-0000000001");
    }
  });
});
