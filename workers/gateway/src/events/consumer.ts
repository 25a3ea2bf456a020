import { EventBatchMessageSchema, logError, type PlatformEvent } from "@buildly/shared";
import { recordEvents } from "./store";

/** The queue every producer (the services' outboxes, the gateway's) sends to (wrangler.toml). */
export const EVENTS_QUEUE = "buildly-events";

/**
 * The consumer of `buildly-events`: validates each message, records the new events (dedupe,
 * audit trail) and acks. A message that is not a valid event batch is logged and acked (it can
 * never succeed); a failure to record retries the whole batch, which the dedupe makes safe.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const events: PlatformEvent[] = [];
  for (const message of batch.messages) {
    const parsed = EventBatchMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      logError("queue", "gateway", new Error("invalid event message"), { queue: batch.queue, message_id: message.id, issues: parsed.error.issues.slice(0, 5) });
      message.ack();
      continue;
    }
    events.push(...parsed.data.events);
  }
  if (events.length === 0) return;
  let fresh: PlatformEvent[];
  try {
    fresh = await recordEvents(env, events);
  } catch (err) {
    logError("queue", "gateway", err, { queue: batch.queue, during: "recording events" });
    batch.retryAll({ delaySeconds: 2 });
    return;
  }
  // The one place the events recorded for the first time go on from: the webhooks fan-out
  // (fanOut(env, fresh)) is called here, before the ack. A redelivered batch finds these events
  // recorded and `fresh` empty, so the fan-out must be durable once it returns (e.g. enqueue its
  // deliveries) and must throw, before anything is acked, if it could not be.
  void fresh;
  batch.ackAll();
}
