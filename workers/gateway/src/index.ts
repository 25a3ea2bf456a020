import { app } from "./app";
import { withSimulatedLatency } from "./http/simulated-latency";
import { scheduled } from "./identity";

export { IdempotencyStore, RateLimiter } from "./limits";

export default {
  fetch: (request, env, ctx) => app.fetch(request, withSimulatedLatency(env), ctx),
  scheduled,
} satisfies ExportedHandler<Env>;
