import { EventBatchMessageSchema, logError, type PlatformEvent, telemetryConfig } from "@buildly/shared";
import { fanOut } from "../webhooks";
import { recordEvents } from "./store";
import { BatchTelemetry } from "./telemetry";

/**
 * The consumer of `buildly-events`: validates each message, records the new events (dedupe,
 * audit trail) and acks. A message that is not a valid event batch is logged and acked (it can
 * never succeed); a failure to record retries the whole batch, which the dedupe makes safe.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env, ctx?: ExecutionContext): Promise<void> {
  const events: PlatformEvent[] = [];
  const traces: Record<string, string> = {};
  for (const message of batch.messages) {
    const parsed = EventBatchMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      logError("queue", "gateway", new Error("invalid event message"), { queue: batch.queue, message_id: message.id, issues: parsed.error.issues.slice(0, 5) });
      message.ack();
      continue;
    }
    events.push(...parsed.data.events);
    Object.assign(traces, parsed.data.traces);
  }
  if (events.length === 0) return;
  // Only when export is on: the batch's spans, one per producer trace (events/telemetry.ts).
  const telemetry = telemetryConfig(env, "gateway") ? new BatchTelemetry(env, batch.queue, events, traces) : undefined;
  let fresh: PlatformEvent[] = [];
  try {
    await recordAndFanOut(batch, env, events, telemetry, (f) => (fresh = f));
  } catch (err) {
    telemetry?.fail(err);
    throw err;
  } finally {
    if (telemetry) {
      countEvents(telemetry, fresh);
      telemetry.finish(ctx, { events: events.length, fresh: fresh.length });
    }
  }
}

/** Events relayed (by source) and their lag, and records created per organization and service. */
function countEvents(telemetry: BatchTelemetry, fresh: PlatformEvent[]): void {
  const tel = telemetry.any;
  if (!tel) return;
  const now = Date.now();
  for (const e of fresh) {
    const source = e.source;
    tel.count("buildly.events.relayed", { source });
    const at = Date.parse(e.time);
    if (Number.isFinite(at)) tel.observe("buildly.events.lag", { source }, Math.max(0, now - at));
    if (e.type.endsWith(".created")) tel.count("buildly.records.created", { organization: e.organizationid, service: e.type.split(".")[0] });
  }
}

async function recordAndFanOut(
  batch: MessageBatch<unknown>,
  env: Env,
  events: PlatformEvent[],
  telemetry: BatchTelemetry | undefined,
  done: (fresh: PlatformEvent[]) => void,
): Promise<void> {
  let fresh: PlatformEvent[];
  try {
    fresh = await recordEvents(env, events);
  } catch (err) {
    logError("queue", "gateway", err, { queue: batch.queue, during: "recording events" });
    telemetry?.fail(err);
    batch.retryAll({ delaySeconds: 2 });
    return;
  }
  // The one place the events recorded for the first time go on from: the webhooks fan-out,
  // before the ack. A retried batch hands over all its events, since the first try may have
  // recorded them and then failed here (fanOut doubles no delivery).
  try {
    await fanOut(env, batch.messages.some((m) => m.attempts > 1) ? events : fresh, telemetry && ((id) => telemetry.traceparentOf(id)));
  } catch (err) {
    logError("queue", "gateway", err, { queue: batch.queue, during: "webhook fan-out" });
    telemetry?.fail(err);
    batch.retryAll({ delaySeconds: 2 });
    return;
  }
  done(fresh);
  batch.ackAll();
}
