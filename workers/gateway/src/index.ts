import { app } from "./app";
import { consumeEvents, EVENTS_QUEUE } from "./events/wiring";
import { canonicalRequest } from "./http/canonical-path";
import { withSimulatedLatency } from "./http/simulated-latency";
import { discardUnread } from "./http/unread-body";
import { scheduled } from "./identity";
import { deliverBatch, WEBHOOK_DELIVERY_QUEUE } from "./webhooks";

export { IdempotencyStore, RateLimiter } from "./limits";
export { WorkflowIndexer, WorkflowInstance } from "./workflows";
export { PrivacyRequest } from "./privacy";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    // The path in canonical form before routing and every check (http/canonical-path.ts).
    const canonical = canonicalRequest(request);
    const response = await app.fetch(canonical, withSimulatedLatency(env), ctx);
    // An answer given before the body was read whole: read the rest, so the client gets it.
    await discardUnread(canonical);
    return response;
  },
  scheduled,
  /** One consumer for every queue the gateway reads, told apart by name. */
  async queue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) {
    switch (batch.queue) {
      case EVENTS_QUEUE:
        return consumeEvents(batch, env, ctx);
      case WEBHOOK_DELIVERY_QUEUE:
        return deliverBatch(batch, env, ctx);
      default:
        console.error(JSON.stringify({ level: "error", msg: "a batch from a queue the gateway does not consume", queue: batch.queue }));
        batch.retryAll();
    }
  },
} satisfies ExportedHandler<Env>;
