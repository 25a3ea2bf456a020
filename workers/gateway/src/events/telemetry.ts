import { parseTraceparent, type PlatformEvent, Telemetry } from "@buildly/shared";

/** Traces one consumer batch continues at most (each exports on its own); the other events share one new trace. */
const MAX_TRACES_PER_BATCH = 20;

/**
 * A queue batch's telemetry, one per producer trace: the events written by one request are
 * processed in a `buildly-events process` consumer span that is a child of (and links to) that
 * request's `outbox write` span, so the write, the consumer and the webhook attempts share one
 * trace. Events without a (valid) trace context share a new trace.
 */
export class BatchTelemetry {
  private readonly byTrace = new Map<string, Telemetry>();
  private readonly ofEvent = new Map<string, Telemetry>();
  private fallback: Telemetry | undefined;

  constructor(
    private readonly env: Env,
    private readonly queue: string,
    events: PlatformEvent[],
    traces: Record<string, string>,
  ) {
    for (const e of events) {
      const tp = traces[e.id];
      const parent = tp ? parseTraceparent(tp) : undefined;
      let tel = parent ? this.byTrace.get(tp!) : undefined;
      if (parent && !tel && this.byTrace.size < MAX_TRACES_PER_BATCH) {
        tel = this.start(parent);
        this.byTrace.set(tp!, tel);
      }
      this.ofEvent.set(e.id, tel ?? (this.fallback ??= this.start(undefined)));
    }
  }

  private start(parent: ReturnType<typeof parseTraceparent>): Telemetry {
    return new Telemetry(this.env, "gateway", {
      parent,
      name: `${this.queue} process`,
      kind: "consumer",
      attributes: { "messaging.system": "cloudflare_queues", "messaging.destination.name": this.queue, "messaging.operation.type": "process" },
      links: parent ? [{ traceId: parent.traceId, spanId: parent.spanId }] : undefined,
    });
  }

  /** Any of the batch's telemetry objects, for metrics (they share the isolate's registry). */
  get any(): Telemetry | undefined {
    return this.fallback ?? this.byTrace.values().next().value;
  }

  /** The traceparent to send on with an event's deliveries: its consumer span. */
  traceparentOf(eventId: string): string | undefined {
    const tel = this.ofEvent.get(eventId);
    return tel?.recording ? tel.traceparent() : undefined;
  }

  all(): Telemetry[] {
    return [...this.byTrace.values(), ...(this.fallback ? [this.fallback] : [])];
  }

  fail(err: unknown): void {
    for (const t of this.all()) t.root.fail(err);
  }

  /** Ends the spans and exports them after the batch (waitUntil). */
  finish(ctx: ExecutionContext | undefined, attrs: { events: number; fresh: number }): void {
    for (const t of this.all()) {
      t.root.setAttributes({ "messaging.batch.message_count": attrs.events, "buildly.events.fresh": attrs.fresh });
      t.root.end();
      if (t.recording) {
        if (ctx) ctx.waitUntil(t.flush());
        else void t.flush();
      }
    }
  }
}
