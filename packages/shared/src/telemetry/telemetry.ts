import { type TelemetryConfig, telemetryConfig } from "./config";
import { addToCounter, type MetricName, noteActiveUser, recordInHistogram, takeMetrics } from "./metrics";
import { type Attributes, encodeMetrics, encodeTraces, type FinishedSpan, type SpanKind } from "./otlp";
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type TraceContext } from "./trace-context";

/** Spans one invocation records at most (a fan-out of many calls stays bounded); the rest are counted, not kept. */
export const MAX_SPANS = 128;
/** An export that takes longer is given up (it runs in waitUntil, after the answer). */
const EXPORT_TIMEOUT_MS = 5_000;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; default the invocation's root span. */
  parent?: Span;
  links?: FinishedSpan["links"];
}

/** A span being recorded. With telemetry off every call returns NOOP_SPAN instead: nothing is allocated. */
export interface Span {
  readonly recording: boolean;
  readonly spanId: string | undefined;
  setAttributes(attrs: Attributes): void;
  /** Renames the span (e.g. the request's once its route template is known). */
  setName(name: string): void;
  /** Marks the span failed (status ERROR, an `exception` event with the error's name and message, never a stack or a body). */
  fail(err: unknown): void;
  end(): void;
}

export const NOOP_SPAN: Span = {
  recording: false,
  spanId: undefined,
  setAttributes() {},
  setName() {},
  fail() {},
  end() {},
};

class RecordingSpan implements Span {
  readonly recording = true;
  readonly spanId = newSpanId();
  readonly data: FinishedSpan;
  private ended = false;

  constructor(
    private readonly owner: Telemetry,
    name: string,
    traceId: string,
    parentSpanId: string | undefined,
    options: SpanOptions,
  ) {
    this.data = {
      traceId,
      spanId: this.spanId,
      ...(parentSpanId ? { parentSpanId } : {}),
      name,
      kind: options.kind ?? "internal",
      startMs: Date.now(),
      endMs: 0,
      attributes: { ...options.attributes },
      ...(options.links?.length ? { links: options.links } : {}),
    };
  }

  setAttributes(attrs: Attributes): void {
    Object.assign(this.data.attributes, attrs);
  }

  setName(name: string): void {
    this.data.name = name;
  }

  fail(err: unknown): void {
    const e = err instanceof Error ? err : undefined;
    const message = e ? e.message : typeof err === "string" ? err : "error";
    this.data.error = message;
    (this.data.events ??= []).push({
      name: "exception",
      timeMs: Date.now(),
      attributes: { "exception.type": e?.name ?? "Error", "exception.message": message },
    });
    this.owner.noteError();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.data.endMs = Date.now();
  }
}

/**
 * The telemetry of one invocation (a request, an RPC call, a queue batch): its trace context, its
 * spans (bounded by MAX_SPANS) and its share of the isolate's metrics, exported together by
 * `flush()` in waitUntil. With no OTEL_EXPORTER_OTLP_ENDPOINT it only holds the trace ids (so
 * answers and logs still carry them): no span, timer or metric is recorded.
 */
export class Telemetry {
  readonly traceId: string;
  /** The id of the root span (the one a `traceparent` sent on names, unless a child is given). */
  readonly spanId: string;
  readonly sampled: boolean;
  readonly tracestate: string | undefined;
  /** The caller's span, when the trace was continued. */
  readonly parentSpanId: string | undefined;
  readonly recording: boolean;
  readonly root: Span;
  private readonly config: TelemetryConfig | null;
  private readonly spans: RecordingSpan[] = [];
  private dropped = 0;
  private failed = false;

  /**
   * `parent`: an incoming `traceparent` (already parsed, or a string validated here: invalid
   * starts a new trace). A new trace is sampled with the configured ratio; a continued one
   * follows its caller's flag.
   */
  constructor(
    env: unknown,
    service: string,
    options: {
      parent?: TraceContext | string | null;
      tracestate?: string | null;
      name?: string;
      kind?: SpanKind;
      attributes?: Attributes;
      links?: FinishedSpan["links"];
      /** For a new trace: whether it is kept (default: by the sampling ratio), e.g. as a linked trace was. */
      sampled?: boolean;
    } = {},
  ) {
    this.config = telemetryConfig(env, service);
    const parent = typeof options.parent === "string" ? parseTraceparent(options.parent, options.tracestate) : (options.parent ?? undefined);
    this.traceId = parent?.traceId ?? newTraceId();
    this.parentSpanId = parent?.spanId;
    this.tracestate = parent?.tracestate;
    this.sampled = parent ? parent.sampled : this.config ? (options.sampled ?? Math.random() < this.config.ratio) : false;
    this.recording = this.config !== null;
    if (this.recording) {
      const root = new RecordingSpan(this, options.name ?? service, this.traceId, this.parentSpanId, {
        kind: options.kind ?? "server",
        attributes: options.attributes,
        links: options.links,
      });
      this.spans.push(root);
      this.root = root;
      this.spanId = root.spanId;
    } else {
      this.root = NOOP_SPAN;
      this.spanId = newSpanId();
    }
  }

  /** A child span (of `options.parent`, or of the root). NOOP_SPAN when off or past MAX_SPANS. */
  span(name: string, options: SpanOptions = {}): Span {
    if (!this.recording) return NOOP_SPAN;
    if (this.spans.length >= MAX_SPANS) {
      this.dropped++;
      return NOOP_SPAN;
    }
    const span = new RecordingSpan(this, name, this.traceId, options.parent?.spanId ?? this.spanId, options);
    this.spans.push(span);
    return span;
  }

  /** Runs `fn` inside a span: ends it after, records a thrown error (and throws it on). */
  async inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
    if (!this.recording) return fn(NOOP_SPAN);
    const span = this.span(name, options);
    try {
      return await fn(span);
    } catch (err) {
      span.fail(err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** What to send on to the next hop: this trace, with `span` (default the root) as the parent. */
  traceparent(span?: Span): string {
    return formatTraceparent({ traceId: this.traceId, spanId: span?.spanId ?? this.spanId, sampled: this.sampled });
  }

  /** The W3C context of `span` (default the root), e.g. to store in an outbox row or a queue message. */
  context(span?: Span): TraceContext {
    return { traceId: this.traceId, spanId: span?.spanId ?? this.spanId, sampled: this.sampled, ...(this.tracestate ? { tracestate: this.tracestate } : {}) };
  }

  noteError(): void {
    this.failed = true;
  }

  count(name: MetricName, attrs: Attributes, n = 1): void {
    if (this.recording) addToCounter(name, attrs, n);
  }

  observe(name: MetricName, attrs: Attributes, value: number): void {
    if (this.recording) recordInHistogram(name, attrs, value);
  }

  activeUser(organization: string | undefined, user: string | null | undefined): void {
    if (this.recording && organization && user) noteActiveUser(organization, user);
  }

  /**
   * Ends what is still open and sends this invocation's spans (when sampled, or when one failed:
   * errors are always kept) and, once per interval, the isolate's metrics. Call it in waitUntil.
   * Export failures are logged once per flush and never thrown: telemetry must not break the platform.
   */
  async flush(): Promise<void> {
    const config = this.config;
    if (!config) return;
    const sends: Promise<void>[] = [];
    if (this.spans.length && (this.sampled || this.failed)) {
      if (this.dropped) this.root.setAttributes({ "buildly.dropped_spans": this.dropped });
      const finished = this.spans.map((s) => {
        s.end();
        return s.data;
      });
      this.spans.length = 0;
      sends.push(post(config, "/v1/traces", encodeTraces(config.serviceName, finished)));
    }
    const metrics = takeMetrics(config.metricIntervalMs);
    if (metrics) sends.push(post(config, "/v1/metrics", encodeMetrics(config.serviceName, metrics.startMs, metrics.endMs, metrics.metrics)));
    const results = await Promise.allSettled(sends);
    const failure = results.find((r) => r.status === "rejected");
    if (failure)
      console.error(
        JSON.stringify({
          level: "error",
          msg: "telemetry export failed",
          service: config.serviceName,
          error: String((failure as PromiseRejectedResult).reason),
        }),
      );
  }
}

async function post(config: TelemetryConfig, path: string, body: unknown): Promise<void> {
  const res = await fetch(config.endpoint + path, {
    method: "POST",
    headers: { ...config.headers, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
}

/**
 * A Durable Object's synchronous RPC method as a server span of its caller's trace (`name`, e.g.
 * `RateLimiter acquire`) of the Worker `service`, exported after the call (waitUntil). Callers send `traceparent` only
 * while they record, so call it only when one came; with no endpoint configured in this Worker it
 * just runs `fn`. A thrown error is recorded on the span and thrown on.
 */
export function inCallerSpan<T>(
  env: unknown,
  ctx: { waitUntil(p: Promise<unknown>): void },
  service: string,
  traceparent: string,
  name: string,
  attributes: Attributes,
  fn: () => T,
): T {
  if (!telemetryConfig(env, service)) return fn();
  const tel = new Telemetry(env, service, { parent: traceparent, name, kind: "server", attributes });
  try {
    return fn();
  } catch (err) {
    tel.root.fail(err);
    throw err;
  } finally {
    tel.root.end();
    ctx.waitUntil(tel.flush());
  }
}
