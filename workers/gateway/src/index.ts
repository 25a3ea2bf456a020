import { app } from "./app";
import { scheduled } from "./scheduled";

export { RateLimiter } from "./limiter/rate-limiter";
export { IdempotencyStore } from "./idempotency/store";

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;
