import { app } from "./app";
import { scheduled } from "./identity";

export { IdempotencyStore, RateLimiter } from "./limits";

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;
