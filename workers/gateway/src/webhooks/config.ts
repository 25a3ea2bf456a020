/** Delivery settings from wrangler.toml [vars] (tests shorten them). */
export interface DeliveryConfig {
  timeoutMs: number;
  maxAttempts: number;
  retryBaseSeconds: number;
  disableAfterFailures: number;
}

/** The delivery queue's max_retries (wrangler.toml): a message is seen at most this many times plus one. */
export const MAX_ATTEMPTS_LIMIT = 20;

/** Cloudflare Queues accepts delays up to 12 hours. */
export const MAX_RETRY_DELAY_SECONDS = 12 * 3600;

function int(value: string | undefined, fallback: number, min: number, max: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback;
}

export function deliveryConfig(env: Env): DeliveryConfig {
  return {
    timeoutMs: int(env.WEBHOOK_TIMEOUT_MS, 10_000, 100, 30_000),
    // At most the queue's max_retries (wrangler.toml: 20), so the consumer, not the queue, ends every chain.
    maxAttempts: int(env.WEBHOOK_MAX_ATTEMPTS, 12, 1, MAX_ATTEMPTS_LIMIT),
    retryBaseSeconds: int(env.WEBHOOK_RETRY_BASE_SECONDS, 30, 0, 3600),
    disableAfterFailures: int(env.WEBHOOK_DISABLE_AFTER_FAILURES, 5, 1, 1000),
  };
}

/** Exponential backoff: base, 2 x base, 4 x base, ... capped at 12 hours. `attempt` is the one that just failed (1-based). */
export function retryDelaySeconds(cfg: DeliveryConfig, attempt: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, cfg.retryBaseSeconds * 2 ** (attempt - 1));
}
