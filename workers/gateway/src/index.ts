import { app } from "./app";
import { withSimulatedLatency } from "./http/simulated-latency";
import { scheduled } from "./identity";
import { deliverBatch, WEBHOOK_DELIVERY_QUEUE } from "./webhooks";

export { IdempotencyStore, RateLimiter } from "./limits";
export { WorkflowInstance } from "./workflows";

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, withSimulatedLatency(env), ctx),
  scheduled,
  // One handler for every queue the gateway consumes, by the queue's name.
  async queue(batch: MessageBatch<unknown>, env: Env) {
    if (batch.queue === WEBHOOK_DELIVERY_QUEUE) return deliverBatch(batch, env);
    throw new Error(`No consumer for the queue ${batch.queue}`);
  },
} satisfies ExportedHandler<Env>;
