// Trace context at the gateway (W3C traceparent in and out, on to the services) and the OTLP
// export: traces and metrics sent to a collector that the webhook receiver fixture stands for
// (every outbound host but the IdP lands there and is logged at /_log/<first path segment>).
import { env } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { realObject } from "@buildly/shared/service";
import worker from "../src/index";
import { bearer, call, json, registerOrganization, type Account } from "./helpers";

const INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Telemetry tests");
});

/** The gateway with export on, to https://otel.example/<key> (the receiver fixture logs what arrives). */
async function exporting(key: string, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const vars = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `https://otel.example/${key}`,
    OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=collector-secret",
    OTEL_METRIC_EXPORT_INTERVAL: "0",
  };
  const res = await worker.fetch(new Request(`https://gateway.example${path}`, init), { ...env, ...vars } as Env, ctx);
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  const received = await (await fetch(`https://otel.example/_log/${key}`)).json<{ url: string; headers: Record<string, string>; body: string }[]>();
  return { res, body, received };
}

describe("trace context", () => {
  it("continues a valid traceparent and answers with the gateway's span in the same trace", async () => {
    const res = await call("/health", { headers: { traceparent: INCOMING } });
    const [, traceId, spanId] = TRACEPARENT.exec(res.headers.get("traceparent") ?? "")!;
    expect(traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(spanId).not.toBe("00f067aa0ba902b7");
  });

  it("starts a new trace for a missing or malformed traceparent, on every answer (404 too)", async () => {
    for (const bad of [undefined, "garbage", INCOMING.toUpperCase(), `${INCOMING}-x`, "00-00000000000000000000000000000000-00f067aa0ba902b7-01"]) {
      const res = await call("/v1/no-such-thing", bad ? { headers: { traceparent: bad } } : {});
      expect(res.status).toBe(404);
      const m = TRACEPARENT.exec(res.headers.get("traceparent") ?? "");
      expect(m, String(bad)).not.toBeNull();
      expect(m![1]).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    }
  });

  it("sends the trace on to a logic service in the identity context and the traceparent header", async () => {
    const res = await call("/v1/fixture/echo", bearer(admin.access_token, { headers: { traceparent: INCOMING } }));
    expect(res.status).toBe(200);
    const seen = await res.json<any>();
    const [, traceId] = TRACEPARENT.exec(seen.context.traceparent)!;
    expect(traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(seen.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
    expect(seen.context.traceparent).not.toBe(INCOMING);
  });
});

describe("OTLP export", () => {
  it("exports the request's spans (server, authenticate, rate limit, the service call) with parent links and no secrets", async () => {
    const { res, received } = await exporting(
      "traces-1",
      "/v1/fixture/echo?token=querysecret",
      bearer(admin.access_token, { headers: { traceparent: INCOMING } }),
    );
    expect(res.status).toBe(200);
    const traces = received.filter((r) => r.url.endsWith("/traces-1/v1/traces"));
    expect(traces).toHaveLength(1);
    expect(traces[0]!.headers["x-api-key"]).toBe("collector-secret");
    expect(traces[0]!.headers["content-type"]).toBe("application/json");
    const payload = JSON.parse(traces[0]!.body);
    expect(payload.resourceSpans[0].resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "gateway" } });
    const spans: any[] = payload.resourceSpans[0].scopeSpans[0].spans;
    const server = spans.find((s) => s.kind === 2)!;
    expect(server.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(server.parentSpanId).toBe("00f067aa0ba902b7");
    expect(res.headers.get("traceparent")).toBe(`00-${server.traceId}-${server.spanId}-01`);
    const attr = (s: any, k: string) => s.attributes.find((a: any) => a.key === k)?.value;
    expect(attr(server, "http.response.status_code")).toEqual({ intValue: "200" });
    expect(attr(server, "buildly.organization_id")).toEqual({ stringValue: admin.organization_id });
    const names = spans.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["authenticate", "rate limit", "fixture handle"]));
    for (const s of spans.filter((s) => s !== server)) expect(s.parentSpanId, s.name).toBe(server.spanId);
    // The service saw the client span as its parent.
    const client = spans.find((s) => s.name === "fixture handle")!;
    expect(client.kind).toBe(3);
    const text = traces[0]!.body;
    for (const secret of [admin.access_token, "querysecret", "collector-secret", "Bearer"]) expect(text).not.toContain(secret);
  });

  it("exports RED metrics as delta sums and histograms", async () => {
    const { received } = await exporting("metrics-1", "/v1/fixture/echo", bearer(admin.access_token));
    const metrics = received.filter((r) => r.url.endsWith("/metrics-1/v1/metrics"));
    expect(metrics.length).toBeGreaterThanOrEqual(1);
    const all = metrics.flatMap((m) => JSON.parse(m.body).resourceMetrics[0].scopeMetrics[0].metrics);
    const requests = all.find((m: any) => m.name === "buildly.http.server.requests");
    expect(requests.sum.aggregationTemporality).toBe(1);
    const point = requests.sum.dataPoints.find((p: any) => p.attributes.some((a: any) => a.key === "service" && a.value.stringValue === "fixture"));
    expect(point.asInt).toBe("1");
    expect(all.map((m: any) => m.name)).toEqual(
      expect.arrayContaining(["buildly.http.server.duration", "buildly.upstream.calls", "buildly.ratelimit.decisions"]),
    );
  });

  it("exports a failed request's spans even when sampling keeps none", async () => {
    const ctx = createExecutionContext();
    const vars = { OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example/errors-1", OTEL_TRACES_SAMPLER_ARG: "0", OTEL_METRIC_EXPORT_INTERVAL: "999999999" };
    const e = { ...env, ...vars } as Env;
    const ok = await worker.fetch(new Request("https://gateway.example/v1/fixture/echo", bearer(admin.access_token)), e, ctx);
    expect(ok.headers.get("traceparent")).toMatch(/-00$/);
    const failed = await worker.fetch(new Request("https://gateway.example/v1/fixture/throw", bearer(admin.access_token)), e, ctx);
    expect(failed.status).toBe(502);
    await waitOnExecutionContext(ctx);
    const received = await (await fetch("https://otel.example/_log/errors-1")).json<{ url: string; body: string }[]>();
    const traces = received.filter((r) => r.url.endsWith("/v1/traces"));
    expect(traces).toHaveLength(1);
    const spans: any[] = JSON.parse(traces[0]!.body).resourceSpans[0].scopeSpans[0].spans;
    const server = spans.find((s) => s.kind === 2);
    expect(server.status.code).toBe(2);
    expect(spans.find((s) => s.name === "fixture handle").status.code).toBe(2);
    expect(traces[0]!.body).not.toContain("hunter2");
  });
});

type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: unknown }[] };
const spansIn = (received: { url: string; body: string }[]): OtlpSpan[] =>
  received.filter((r) => r.url.endsWith("/v1/traces")).flatMap((r) => JSON.parse(r.body).resourceSpans[0].scopeSpans[0].spans);

/** What the receiver fixture got at `key` once `ready` holds (a Durable Object exports after its call, on its own). */
async function receivedWhen(key: string, ready: (spans: OtlpSpan[]) => boolean): Promise<OtlpSpan[]> {
  for (let i = 0; ; i++) {
    const spans = spansIn(await (await fetch(`https://otel.example/_log/${key}`)).json());
    if (ready(spans) || i >= 100) return spans;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Durable Object of the gateway exporting to https://otel.example/<key> (its env is the Worker's, which has no endpoint in the tests). */
async function exportingObject<T extends Rpc.DurableObjectBranded | undefined>(stub: DurableObjectStub<T>, key: string) {
  const run = runInDurableObject as unknown as (s: unknown, fn: (obj: { env: Env }) => void) => Promise<void>;
  await run(stub, (shell) => {
    // A lazy class's state is on the real object behind it (lazyDurableObject).
    const obj = realObject(shell);
    obj.env = { ...obj.env, OTEL_EXPORTER_OTLP_ENDPOINT: `https://otel.example/${key}`, OTEL_METRIC_EXPORT_INTERVAL: "999999999" } as Env;
  });
}

describe("Durable Object calls in the trace", () => {
  it("a rate limiter call is a client span under `rate limit`, and the limiter's own span continues it", async () => {
    // /v1/services has a 5-a-minute IP policy: never leased, so every request asks the limiter.
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const { res, received } = await exporting("limiter-1", "/v1/services", { headers: { traceparent: INCOMING, "cf-connecting-ip": ip } });
    expect(res.status).toBe(200);
    const spans = spansIn(received);
    const limit = spans.find((s) => s.name === "rate limit")!;
    const asked = spans.find((s) => s.name === "RateLimiter acquire")!;
    expect(asked.kind).toBe(3);
    expect(asked.parentSpanId).toBe(limit.spanId);
    expect(asked.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");

    // The object's side: given the caller's span, it records its own as that span's child.
    const stub = env.RATE_LIMITER.getByName(`otel-test:${crypto.randomUUID()}`);
    await exportingObject(stub, "limiter-2");
    const decided = await stub.acquire([{ key: "user:1", limit: 10, windowSeconds: 60 }], true, { lease: false, trace: INCOMING });
    expect(decided.decisions[0]!.allowed).toBe(true);
    await stub.charge([{ key: "user:1", limit: 10, windowSeconds: 60 }], 2, INCOMING);
    const own = await receivedWhen("limiter-2", (s) => s.length >= 2);
    expect(own.map((s) => s.name).sort()).toEqual(["RateLimiter acquire", "RateLimiter charge"]);
    for (const s of own) {
      expect(s.kind).toBe(2);
      expect(s.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
      expect(s.parentSpanId).toBe("00f067aa0ba902b7");
    }
    // The traced calls still decide and count: the charge of 2 is spent (peek shows what one more request would leave).
    expect((await stub.peekAll([{ key: "user:1", limit: 10, windowSeconds: 60 }]))[0]!.remaining).toBe(decided.decisions[0]!.remaining - 3);
  });

  it("a keyed write's idempotency store calls are client spans of the request; the store's own spans continue them", async () => {
    const { res, received } = await exporting(
      "idempotency-1",
      "/v1/fixture/echo",
      bearer(admin.access_token, json("POST", { secret: "idempotent body value" }, { "idempotency-key": crypto.randomUUID(), traceparent: INCOMING })),
    );
    expect(res.status).toBe(200);
    const spans = spansIn(received);
    const server = spans.find((s) => s.kind === 2)!;
    const begin = spans.find((s) => s.name === "IdempotencyStore begin")!;
    const complete = spans.find((s) => s.name === "IdempotencyStore complete")!;
    for (const s of [begin, complete]) {
      expect(s.kind).toBe(3);
      expect(s.parentSpanId).toBe(server.spanId);
    }
    expect(begin.attributes).toContainEqual({ key: "buildly.idempotency.state", value: { stringValue: "new" } });
    expect(JSON.stringify(spans)).not.toContain("idempotent body value");

    const stub = env.IDEMPOTENCY.getByName(`otel-test:${crypto.randomUUID()}`);
    await exportingObject(stub, "idempotency-2");
    expect((await stub.begin("fingerprint", INCOMING)).state).toBe("new");
    await stub.release("fingerprint", INCOMING);
    const own = await receivedWhen("idempotency-2", (s) => s.length >= 2);
    expect(own.map((s) => s.name).sort()).toEqual(["IdempotencyStore begin", "IdempotencyStore release"]);
    for (const s of own) expect([s.kind, s.traceId, s.parentSpanId]).toEqual([2, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"]);
  });
});

describe("workflow spans", () => {
  it("a transition's actions are children of its span; the alarm that takes the timeout starts a trace linked to it", async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) => call(path, bearer(admin.access_token, json("POST", body, headers)));
    const template = await post("/v1/workflows/templates", {
      name: "Traced",
      initial_state: "open",
      states: [
        { key: "open", name: "Open" },
        { key: "waiting", name: "Waiting", timeout_seconds: 600, on_timeout: "expire" },
        { key: "end", name: "End", terminal: true },
      ],
      transitions: [
        {
          key: "act",
          name: "Act",
          from: ["open"],
          to: "waiting",
          actions: [
            {
              type: "create",
              service: "crm",
              model: "contacts",
              body: { first_name: "Traced", last_name: "Workflow", email: "wf-{{instance.id}}@example.com" },
            },
          ],
        },
        { key: "expire", name: "Expire", from: ["waiting"], to: "end" },
      ],
    });
    expect(template.status, await template.clone().text()).toBe(201);
    const started = await post("/v1/workflows/instances", { template_id: (await template.json<{ id: string }>()).id });
    expect(started.status).toBe(201);
    const { id } = await started.json<{ id: string }>();
    const stub = env.WORKFLOWS.getByName(`${admin.organization_id}:${id}`);
    await exportingObject(stub, "workflow-1");

    const res = await post(`/v1/workflows/instances/${id}/transitions`, { transition: "act" }, { traceparent: INCOMING });
    expect(res.status, await res.clone().text()).toBe(200);
    const [, , requestSpan] = TRACEPARENT.exec(res.headers.get("traceparent") ?? "")!;
    let spans = await receivedWhen("workflow-1", (s) => s.some((x) => x.name === "workflow transition"));
    const transition = spans.find((s) => s.name === "workflow transition")!;
    expect([transition.traceId, transition.parentSpanId]).toEqual(["4bf92f3577b34da6a3ce929d0e0e4736", requestSpan]);
    const action = spans.find((s) => s.name === "workflow action create")!;
    expect(action.parentSpanId).toBe(transition.spanId);
    expect(action.attributes).toContainEqual({ key: "buildly.workflow.action.service", value: { stringValue: "crm" } });
    expect(action.attributes).toContainEqual({ key: "buildly.workflow.action.status", value: { intValue: "201" } });

    // The timeout comes due: the alarm's span starts a new trace, linked to the transition that set it.
    const run = runInDurableObject as unknown as (s: unknown, fn: (obj: { inst?: { timeout_at: number | null } }) => void) => Promise<void>;
    await run(stub, (shell) => {
      const obj = realObject(shell);
      if (obj.inst?.timeout_at) obj.inst = { ...obj.inst, timeout_at: Date.now() - 1 };
    });
    await runDurableObjectAlarm(stub);
    spans = await receivedWhen(
      "workflow-1",
      (s) => s.some((x) => x.name === "workflow alarm") && s.filter((x) => x.name === "workflow transition").length >= 2,
    );
    const alarm = spans.find((s) => s.name === "workflow alarm")!;
    expect(alarm.traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(alarm.parentSpanId).toBeUndefined();
    expect((alarm as OtlpSpan & { links: { traceId: string; spanId: string }[] }).links).toContainEqual(
      expect.objectContaining({ traceId: transition.traceId, spanId: transition.spanId }),
    );
    const timedOut = spans.find((s) => s.name === "workflow transition" && s.parentSpanId === alarm.spanId)!;
    expect(timedOut.traceId).toBe(alarm.traceId);
    expect(timedOut.attributes).toContainEqual({ key: "buildly.workflow.timeout", value: { boolValue: true } });
    expect((await (await call(`/v1/workflows/instances/${id}`, bearer(admin.access_token))).json<{ state: string }>()).state).toBe("end");
  });
});

describe("the gateway's own events", () => {
  it("carry the request's span in their outbox row when traced (the consumer continues it), and nothing more when not", async () => {
    const create = (init: RequestInit) =>
      bearer(
        admin.access_token,
        json("POST", { url: "https://hooks.example/otel-events/ok", events: ["crm.contact.created"] }, init.headers as Record<string, string>),
      );
    const { res, body } = await exporting("events-1", "/v1/webhooks", create({ headers: { traceparent: INCOMING } }));
    expect(res.status, body).toBe(201);
    const stored = async (subject: string) =>
      (await env.DB.prepare("SELECT request_id FROM outbox WHERE type = 'webhooks.subscription.created' AND subject = ?1")
        .bind(subject)
        .first<{ request_id: string }>())!.request_id;
    expect(await stored(JSON.parse(body).id)).toBe(`${res.headers.get("x-request-id")} tp=${res.headers.get("traceparent")}`);

    const plain = await call("/v1/webhooks", create({ headers: { traceparent: INCOMING } }));
    expect(plain.status).toBe(201);
    expect(await stored((await plain.json<{ id: string }>()).id)).toBe(plain.headers.get("x-request-id"));
  });
});
