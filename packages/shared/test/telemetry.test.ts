import { describe, expect, it } from "vitest";
import { requestIdWithTrace, splitStoredRequestId } from "../src/outbox";
import {
  describeSql,
  encodeMetrics,
  encodeTraces,
  formatTraceparent,
  MAX_SPANS,
  NOOP_SPAN,
  parseHeaders,
  parseTraceparent,
  sanitizeTracestate,
  Telemetry,
  takeMetrics,
  tracedD1,
  tracedR2,
} from "../src/telemetry";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const ON = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/", OTEL_METRIC_EXPORT_INTERVAL: "0" };

describe("W3C traceparent", () => {
  it("starts new traces with random lower-case hex ids of the right length, each its own", () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = new Telemetry({}, "test");
      expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(parseTraceparent(t.traceparent())).toEqual({ traceId: t.traceId, spanId: t.spanId, sampled: false });
      traces.add(t.traceId);
      spans.add(t.spanId);
    }
    expect(traces.size).toBe(2000);
    expect(spans.size).toBe(2000);
    // Every hex digit turns up over enough ids.
    const digits = new Set([...traces].flatMap((id) => [...id]));
    expect([...digits].sort().join("")).toBe("0123456789abcdef");
  });

  it("parses a valid version-00 header, sampled or not", () => {
    expect(parseTraceparent(TP)).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true });
    expect(parseTraceparent(TP.replace(/01$/, "00"))?.sampled).toBe(false);
    expect(parseTraceparent(` ${TP} `)?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("refuses every malformed variant (the caller starts a new trace)", () => {
    for (const bad of [
      "",
      "garbage",
      TP.toUpperCase(),
      `${TP}-extra`, // version 00 has exactly four fields
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
      "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
  });

  it("accepts a later version with extra fields, as the spec asks", () => {
    expect(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")?.spanId).toBe("00f067aa0ba902b7");
  });

  it("keeps a well-formed tracestate and drops a malformed one", () => {
    expect(sanitizeTracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7")).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    expect(sanitizeTracestate("BAD KEY=1")).toBeUndefined();
    expect(sanitizeTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBeUndefined();
    expect(parseTraceparent(TP, "congo=t61rcWkgMzE")?.tracestate).toBe("congo=t61rcWkgMzE");
  });

  it("formats what it parses", () => {
    expect(formatTraceparent(parseTraceparent(TP)!)).toBe(TP);
  });
});

describe("Telemetry", () => {
  it("with no endpoint records nothing but still carries the trace on", () => {
    const t = new Telemetry({}, "gateway", { parent: TP });
    expect(t.recording).toBe(false);
    expect(t.root).toBe(NOOP_SPAN);
    expect(t.span("x")).toBe(NOOP_SPAN);
    expect(t.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(t.traceparent()).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(t.traceparent()).not.toBe(TP);
    const fresh = new Telemetry({}, "gateway", { parent: "invalid" });
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.parentSpanId).toBeUndefined();
  });

  it("continues a trace: children name their parent, the sampled flag follows the caller", () => {
    const t = new Telemetry(ON, "gateway", { parent: TP.replace(/01$/, "00") });
    expect(t.recording).toBe(true);
    expect(t.sampled).toBe(false);
    const child = t.span("auth", { kind: "internal" });
    const grandchild = t.span("d1", { parent: child, kind: "client" });
    expect(t.traceparent(grandchild)).toBe(`00-${t.traceId}-${grandchild.spanId}-00`);
    const body = encodeTraces("gateway", [
      (t.root as unknown as { data: never }).data,
      (child as never as { data: never }).data,
      (grandchild as never as { data: never }).data,
    ]);
    const spans = body.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(spans[0]!.parentSpanId).toBe("00f067aa0ba902b7");
    expect(spans[1]!.parentSpanId).toBe(spans[0]!.spanId);
    expect(spans[2]!.parentSpanId).toBe(spans[1]!.spanId);
    expect(spans[0]!.kind).toBe(2);
    expect(spans[2]!.kind).toBe(3);
  });

  it("samples new traces by the ratio", () => {
    expect(new Telemetry({ ...ON, OTEL_TRACES_SAMPLER_ARG: "0" }, "gateway").sampled).toBe(false);
    expect(new Telemetry({ ...ON, OTEL_TRACES_SAMPLER_ARG: "1" }, "gateway").sampled).toBe(true);
  });

  it("keeps at most MAX_SPANS spans per invocation", () => {
    const t = new Telemetry(ON, "gateway");
    const spans = Array.from({ length: MAX_SPANS + 10 }, (_, i) => t.span(`s${i}`));
    expect(spans.filter((s) => s.recording)).toHaveLength(MAX_SPANS - 1);
  });

  it("records an error as status ERROR with an exception event, no stack", async () => {
    const t = new Telemetry(ON, "gateway");
    await expect(
      t.inSpan("upstream crm", { kind: "client" }, async () => {
        throw new TypeError("boom");
      }),
    ).rejects.toThrow("boom");
    const data = (t as unknown as { spans: { data: ReturnType<typeof Object> }[] }).spans[1]!.data as never;
    const span = encodeTraces("gateway", [data]).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.status).toEqual({ code: 2, message: "boom" });
    expect(span.events[0]!.attributes).toEqual([
      { key: "exception.type", value: { stringValue: "TypeError" } },
      { key: "exception.message", value: { stringValue: "boom" } },
    ]);
    expect(JSON.stringify(span)).not.toContain("stack");
  });
});

describe("OTLP JSON encoding", () => {
  it("encodes attribute types, nanosecond times and truncates long strings", () => {
    const body = encodeTraces("crm", [
      {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        name: "GET /contacts",
        kind: "server",
        startMs: 1_700_000_000_123,
        endMs: 1_700_000_000_456,
        attributes: { s: "x".repeat(300), i: 200, d: 1.5, b: true, u: undefined },
        links: [{ traceId: "a".repeat(32), spanId: "b".repeat(16) }],
      },
    ]);
    const rs = body.resourceSpans[0]!;
    expect(rs.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "crm" } });
    const span = rs.scopeSpans[0]!.spans[0]!;
    expect(span.startTimeUnixNano).toBe("1700000000123000000");
    expect(span.endTimeUnixNano).toBe("1700000000456000000");
    expect(span.attributes).toEqual([
      { key: "s", value: { stringValue: "x".repeat(256) } },
      { key: "i", value: { intValue: "200" } },
      { key: "d", value: { doubleValue: 1.5 } },
      { key: "b", value: { boolValue: true } },
    ]);
    expect(span.links).toEqual([{ traceId: "a".repeat(32), spanId: "b".repeat(16), attributes: [] }]);
    expect(span.status).toEqual({ code: 0 });
  });

  it("aggregates an isolate's metrics as delta sums and histograms", () => {
    takeMetrics(0); // start from an empty window
    const t = new Telemetry(ON, "gateway");
    t.count("buildly.http.server.requests", { route: "/v1/x", status_class: "2xx" });
    t.count("buildly.http.server.requests", { status_class: "2xx", route: "/v1/x" });
    t.observe("buildly.http.server.duration", { route: "/v1/x" }, 7);
    t.observe("buildly.http.server.duration", { route: "/v1/x" }, 3000);
    const off = new Telemetry({}, "gateway");
    off.count("buildly.http.server.requests", { route: "/v1/x", status_class: "2xx" });
    const taken = takeMetrics(0)!;
    const body = encodeMetrics("gateway", taken.startMs, taken.endMs, taken.metrics);
    const metrics = body.resourceMetrics[0]!.scopeMetrics[0]!.metrics as Record<string, any>[];
    const requests = metrics.find((m) => m.name === "buildly.http.server.requests")!;
    expect(requests.sum.aggregationTemporality).toBe(1);
    expect(requests.sum.isMonotonic).toBe(true);
    expect(requests.sum.dataPoints).toHaveLength(1);
    expect(requests.sum.dataPoints[0].asInt).toBe("2");
    const duration = metrics.find((m) => m.name === "buildly.http.server.duration")!;
    expect(duration.histogram.dataPoints[0]).toMatchObject({ count: "2", sum: 3007, min: 7, max: 3000 });
    expect(duration.histogram.dataPoints[0].bucketCounts).toEqual(["0", "1", "0", "0", "0", "0", "0", "0", "0", "1", "0", "0"]);
    expect(takeMetrics(0)).toBeUndefined();
  });

  it("reads OTEL_EXPORTER_OTLP_HEADERS as the spec writes it", () => {
    expect(parseHeaders("x-honeycomb-team=abc%3D,Authorization=Basic%20xyz, bad, =v")).toEqual({ "x-honeycomb-team": "abc=", authorization: "Basic xyz" });
  });
});

describe("traced bindings and the outbox's trace mark", () => {
  it("names D1 spans by statement kind and table, never the values", async () => {
    const { env } = await import("cloudflare:workers");
    const db = (env as unknown as { DB: D1Database }).DB;
    await db.exec("CREATE TABLE IF NOT EXISTS traced_things (id TEXT PRIMARY KEY, secret TEXT)");
    const t = new Telemetry(ON, "crm");
    const traced = tracedD1(db, t);
    await traced.prepare("INSERT INTO traced_things (id, secret) VALUES (?1, ?2)").bind(crypto.randomUUID(), "s3cr3t-value").run();
    await traced.prepare('SELECT * FROM "traced_things" WHERE secret = ?1').bind("s3cr3t-value").all();
    await traced.batch([traced.prepare("SELECT count(*) FROM traced_things")]);
    const spans = (t as unknown as { spans: { data: { name: string; parentSpanId?: string } }[] }).spans.map((s) => s.data);
    expect(spans.map((s) => s.name)).toEqual(["crm", "D1 INSERT traced_things", "D1 SELECT traced_things", "D1 batch"]);
    expect(JSON.stringify(encodeTraces("crm", spans as never))).not.toContain("s3cr3t-value");
    expect(tracedD1(db, new Telemetry({}, "crm"))).toBe(db);
  });

  it("names R2 spans by operation, never the key or the body, and the bucket still works through them", async () => {
    const { env } = await import("cloudflare:workers");
    const bucket = (env as unknown as { FILES: R2Bucket }).FILES;
    const t = new Telemetry(ON, "documents");
    const traced = tracedR2(bucket, t);
    const key = `org-secret-key/${crypto.randomUUID()}`;
    await traced.put(key, "r2-body-secret");
    expect(await (await traced.get(key))!.text()).toBe("r2-body-secret");
    expect((await traced.head(key))!.size).toBe(14);
    await traced.delete(key);
    expect(await traced.head(key)).toBeNull();
    const spans = (t as unknown as { spans: { data: { name: string; kind: string; parentSpanId?: string } }[] }).spans.map((s) => s.data);
    expect(spans.map((s) => s.name)).toEqual(["documents", "R2 put", "R2 get", "R2 head", "R2 delete", "R2 head"]);
    expect(spans.slice(1).every((s) => s.kind === "client" && s.parentSpanId === t.spanId)).toBe(true);
    const encoded = JSON.stringify(encodeTraces("documents", spans as never));
    for (const secret of ["org-secret-key", "r2-body-secret"]) expect(encoded).not.toContain(secret);
    expect(tracedR2(bucket, new Telemetry({}, "documents"))).toBe(bucket);
  });

  it("describes SQL by kind and first table", () => {
    expect(describeSql("with x as (select 1) select * from contacts")).toEqual({ operation: "SELECT", table: "contacts" });
    expect(describeSql("UPDATE `deals` SET a = 1")).toEqual({ operation: "UPDATE", table: "deals" });
    expect(describeSql("delete from files where id = ?")).toEqual({ operation: "DELETE", table: "files" });
  });

  it("splits the stored request id into the event's requestid, the compensation mark and the write's traceparent", () => {
    expect(splitStoredRequestId(`req-1 tp=${TP}`)).toEqual({ requestid: "req-1", compensated: false, traceparent: TP });
    expect(splitStoredRequestId(`req-1 tp=${TP} compensation`)).toEqual({ requestid: "req-1", compensated: true, traceparent: TP });
    expect(splitStoredRequestId("req-1 compensation")).toEqual({ requestid: "req-1", compensated: true });
    expect(splitStoredRequestId("req-1 tp=not-a-traceparent")).toEqual({ requestid: "req-1", compensated: false });
    expect(splitStoredRequestId("req-1")).toEqual({ requestid: "req-1", compensated: false });
    expect(splitStoredRequestId(null)).toEqual({ requestid: null, compensated: false });
    // The gateway's own outbox rows (written without the triggers) carry the mark the same way.
    expect(splitStoredRequestId(requestIdWithTrace("req-2", TP))).toEqual({ requestid: "req-2", compensated: false, traceparent: TP });
    expect(requestIdWithTrace("req-2", undefined)).toBe("req-2");
    expect(requestIdWithTrace(null, TP)).toBeNull();
  });
});
