// Observability end to end (docs/observability.md): the platform runs with every Worker exporting
// OTLP/HTTP JSON to the receiver global-setup.ts started (e2e/otlp-receiver.ts). One joined read
// and one write that triggers a webhook, each under a traceparent of ours: one trace id across the
// gateway, the three services, the outbox, both queue consumers and the webhook attempt, with the
// parent links right, nothing secret in any attribute, and the metrics counted.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { anon, api, DEMO_ADMIN, DEMO_PASSWORD, type RegisteredOrg, registerOrg, tokenFor, unique } from "./helpers";
import type { ReceivedMetric, ReceivedSpan } from "./otlp-receiver";

const PASSWORD = "e2e observability password 1";
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

let server: Server;
let receiverBase: string;
const deliveries: { headers: Record<string, string>; body: string }[] = [];
let org: RegisteredOrg;
let hook: { id: string; secret: string };
/** The trace the webhook subscription was created in (a gateway event of its own). */
const hookTrace = hex(16);

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      deliveries.push({
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiverBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  org = await registerOrg("Observability", PASSWORD, "otel");
  const res = await call("POST", "/v1/webhooks", { url: `${receiverBase}/hook`, events: ["crm.contact.created"] }, `00-${hookTrace}-${hex(8)}-01`);
  expect(res.status).toBe(201);
  hook = (await res.json()) as { id: string; secret: string };
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function call(method: string, path: string, body?: unknown, traceparent?: string, extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${org.token}`, ...extra };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (traceparent) headers.traceparent = traceparent;
  return anon(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function spansOf(traceId: string): Promise<ReceivedSpan[]> {
  return (await fetch(`${inject("otlpUrl")}/traces/${traceId}`)).json() as Promise<ReceivedSpan[]>;
}

async function metrics(): Promise<ReceivedMetric[]> {
  return ((await (await fetch(`${inject("otlpUrl")}/metrics`)).json()) as { metrics: ReceivedMetric[] }).metrics;
}

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

function one(spans: ReceivedSpan[], what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(match);
  expect(found.length, `${what} in ${JSON.stringify(spans.map((s) => `${s.service}:${s.name}`))}`).toBeGreaterThanOrEqual(1);
  return found[0]!;
}

/** No credential or request body value in any span: checked on the raw OTLP JSON of each. */
function expectClean(spans: ReceivedSpan[], secrets: string[]) {
  for (const s of spans) for (const secret of secrets) expect(s.raw, `${s.service}:${s.name}`).not.toContain(secret);
}

describe("observability", () => {
  let contactId: string;
  let email: string;

  it("one write: gateway, CRM, outbox, events consumer, delivery consumer and the webhook attempt share one trace", { timeout: 180_000 }, async () => {
    const traceId = hex(16);
    const parent = hex(8);
    email = `${unique("traced")}@example.com`;
    const res = await call("POST", "/v1/crm/contacts", { first_name: "Tracey", last_name: unique("Spanner"), email }, `00-${traceId}-${parent}-01`, {
      "idempotency-key": unique("traced-write"),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    contactId = ((await res.json()) as { id: string }).id;

    const delivery = await eventually(async () => deliveries.find((d) => d.body.includes(contactId)), "the webhook delivery");
    const [, sentTrace, sentSpan] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(delivery.headers.traceparent ?? "") ?? [];
    expect(sentTrace).toBe(traceId);

    const required = [
      "gateway:POST",
      "crm:POST",
      "crm:outbox write",
      "gateway:buildly-events process",
      "gateway:buildly-webhook-deliveries process",
      "gateway:webhook attempt",
      "gateway:IdempotencyStore complete",
    ];
    const spans = await eventually(
      async () => {
        const s = await spansOf(traceId);
        return required.every((r) => s.some((x) => `${x.service}:${x.name}`.startsWith(r))) && s;
      },
      `spans ${required.join(", ")}`,
    );

    const request = one(spans, "the gateway's request span", (s) => s.service === "gateway" && s.kind === SERVER && s.parentSpanId === parent);
    // Named by the route template, never the path (ids stay out of span names).
    expect(request.name).toMatch(/^POST \//);
    expect(request.attributes["http.response.status_code"]).toBe("201");
    expect(request.attributes["buildly.organization_id"]).toBe(org.organization_id);
    for (const step of ["authenticate", "rate limit"]) one(spans, step, (s) => s.name === step && s.parentSpanId === request.spanId);
    const crmCall = one(
      spans,
      "the call to the CRM",
      (s) => s.service === "gateway" && s.kind === CLIENT && s.name === "crm handle" && s.parentSpanId === request.spanId,
    );
    const crm = one(spans, "the CRM's span", (s) => s.service === "crm" && s.kind === SERVER && s.parentSpanId === crmCall.spanId);
    expect(crm.name).toBe("POST /contacts");
    expect(crm.attributes["buildly.organization_id"]).toBe(org.organization_id);
    one(spans, "a D1 query of the CRM", (s) => s.service === "crm" && s.kind === CLIENT && /^D1 /.test(s.name) && s.parentSpanId === crm.spanId);
    const outbox = one(
      spans,
      "the outbox write",
      (s) => s.service === "crm" && s.kind === PRODUCER && s.name === "outbox write" && s.parentSpanId === crm.spanId,
    );
    const consumed = one(spans, "the events consumer", (s) => s.name === "buildly-events process" && s.kind === CONSUMER && s.parentSpanId === outbox.spanId);
    expect(consumed.links).toContainEqual(expect.objectContaining({ traceId, spanId: outbox.spanId }));
    const delivered = one(spans, "the delivery consumer", (s) => s.name === "buildly-webhook-deliveries process" && s.parentSpanId === consumed.spanId);
    const attempt = one(spans, "the webhook attempt", (s) => s.name === "webhook attempt" && s.kind === CLIENT && s.parentSpanId === delivered.spanId);
    expect(attempt.spanId).toBe(sentSpan);
    expect(attempt.attributes["buildly.webhook.outcome"]).toBe("delivered");
    expect(attempt.attributes["http.response.status_code"]).toBe("204");

    // The keyed write's idempotency store: the gateway's client span, the object's own span its child.
    const begin = one(spans, "the store call", (s) => s.name === "IdempotencyStore begin" && s.kind === CLIENT && s.parentSpanId === request.spanId);
    one(spans, "the store's own span", (s) => s.name === "IdempotencyStore begin" && s.kind === SERVER && s.parentSpanId === begin.spanId);

    expectClean(spans, [org.token, PASSWORD, hook.secret, email, "Tracey", "/hook"]);
  });

  it("the gateway's own events carry their request's trace: the subscription's event is consumed in the same trace", { timeout: 120_000 }, async () => {
    const spans = await eventually(async () => {
      const s = await spansOf(hookTrace);
      return s.some((x) => x.name === "buildly-events process") && s;
    }, "the events consumer's span in the webhook creation's trace");
    const request = one(spans, "the request span", (s) => s.service === "gateway" && s.kind === SERVER && s.name.startsWith("POST /"));
    const consumed = one(spans, "the events consumer", (s) => s.name === "buildly-events process" && s.kind === CONSUMER);
    expect(consumed.parentSpanId).toBe(request.spanId);
    expect(consumed.links).toContainEqual(expect.objectContaining({ traceId: hookTrace, spanId: request.spanId }));
    expectClean(spans, [org.token, hook.secret, "/hook"]);
  });

  it("one joined read: the gateway and the three services in one trace, each service span the child of the gateway's call", { timeout: 120_000 }, async () => {
    const traceId = hex(16);
    // The demo organization's contacts have files and appointments, so the join calls all three services.
    const res = await api("/v1/crm/contacts?limit=100&join=documents,appointments", { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } });
    expect(res.status).toBe(200);
    const spans = await eventually(async () => {
      const s = await spansOf(traceId);
      return ["crm", "documents", "appointments"].every((svc) => s.some((x) => x.service === svc)) && s.some((x) => x.service === "gateway") && s;
    }, "spans of the gateway and the three services");
    // The request's span, not the rate limiter's own (a server span of the gateway's too).
    const request = one(spans, "the request span", (s) => s.service === "gateway" && s.kind === SERVER && s.name.startsWith("GET /"));
    for (const service of ["crm", "documents", "appointments"]) {
      const own = one(spans, `${service}'s span`, (s) => s.service === service && s.kind === SERVER);
      const caller = one(spans, `the call to ${service}`, (s) => s.spanId === own.parentSpanId);
      expect(caller.service).toBe("gateway");
      expect(caller.kind).toBe(CLIENT);
      expect(caller.parentSpanId).toBe(request.spanId);
    }
    expectClean(spans, [await tokenFor(DEMO_ADMIN), DEMO_PASSWORD]);
  });

  it("metrics arrive with their names, delta temporality and this organization's counts", { timeout: 120_000 }, async () => {
    const of = (list: ReceivedMetric[], name: string, attrs: Record<string, unknown> = {}) =>
      list.filter((m) => m.name === name && Object.entries(attrs).every(([k, v]) => m.attributes[k] === v));
    const list = await eventually(async () => {
      const l = await metrics();
      return (
        of(l, "buildly.webhook.attempts", { outcome: "delivered" }).length > 0 &&
        of(l, "buildly.records.created", { organization: org.organization_id }).length > 0 &&
        l
      );
    }, "the metrics");
    // Exactly what this organization created: one contact in the CRM and its webhook subscription.
    const created = Object.fromEntries(of(list, "buildly.records.created", { organization: org.organization_id }).map((m) => [m.attributes.service, m.value]));
    expect(created).toEqual({ crm: 1, webhooks: 1 });
    expect(of(list, "buildly.org.active_users", { organization: org.organization_id }).reduce((n, m) => n + m.value, 0)).toBeGreaterThanOrEqual(1);
    for (const [name, attrs] of [
      ["buildly.http.server.requests", { service: "crm", status_class: "2xx" }],
      ["buildly.http.server.duration", { service: "gateway" }],
      ["buildly.upstream.calls", { service: "documents" }],
      ["buildly.upstream.duration", { service: "appointments" }],
      ["buildly.ratelimit.decisions", { decision: "allowed" }],
      ["buildly.events.relayed", { source: "/buildly/crm" }],
      ["buildly.events.lag", { source: "/buildly/crm" }],
    ] as const) {
      expect(
        of(list, name, attrs).reduce((n, m) => n + m.value, 0),
        `${name} ${JSON.stringify(attrs)}`,
      ).toBeGreaterThanOrEqual(1);
    }
    expect(list.every((m) => m.temporality === 1)).toBe(true);
    // The CRM's own request counter comes from the CRM Worker, the gateway's from the gateway.
    const reporting = new Set(of(list, "buildly.http.server.requests").map((m) => m.service));
    expect(reporting.has("gateway") && reporting.has("crm")).toBe(true);
  });
});
