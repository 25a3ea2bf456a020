import { app } from "./app";
import { withSimulatedLatency } from "./http/simulated-latency";
import { scheduled } from "./identity";

export { IdempotencyStore, RateLimiter } from "./limits";
export { WorkflowInstance } from "./workflows";

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, withSimulatedLatency(env), ctx),
  scheduled,
} satisfies ExportedHandler<Env>;
