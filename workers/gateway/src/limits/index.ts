import { lazyHandler } from "@buildly/shared/service";

/** The middleware (rate-limit.ts, its policies and leases) loads on the first request, not at start-up. */
export const rateLimit = lazyHandler(() => import("./rate-limit").then((m) => m.rateLimit));
export { RateLimiter } from "./rate-limiter";
export { IdempotencyStore } from "./idempotency-store";
