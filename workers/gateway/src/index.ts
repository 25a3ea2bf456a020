import { app } from "./app";
import { scheduled } from "./identity";

export { IdempotencyStore, RateLimiter } from "./limits";
export { WorkflowInstance } from "./workflows";

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;
