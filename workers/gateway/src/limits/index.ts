export { rateLimit } from "./rate-limit";
export { RateLimiter } from "./rate-limiter";
export { IdempotencyStore } from "./idempotency-store";
