import { logError } from "@buildly/shared";
import type { RateLimiter } from "../limits/rate-limiter";
import type { Policy } from "../limits/gcra";
import { sha256Hex } from "./crypto";

function policy(env: Env): Policy {
  const e = env;
  return { limit: Number(e.LOGIN_FAILURES_LIMIT) || 5, windowSeconds: Number(e.LOGIN_FAILURES_WINDOW_SECONDS) || 900 };
}

/**
 * Failed passwords per account, counted in the rate limiter's Durable Object. Keyed by a
 * hash of the lower-cased email, known or not, so an unknown address behaves the same.
 */
async function stub(env: Env, email: string) {
  const ns = env.RATE_LIMITER;
  return ns.getByName(`login:${await sha256Hex(email.toLowerCase())}`);
}

/**
 * Seconds to wait before another try, or 0 when a try is allowed. If the limiter cannot be
 * reached, logins stay possible (fail open): an outage must not lock every user out, and
 * PBKDF2 at 100,000 iterations still makes guessing slow.
 */
export async function loginBlockedFor(env: Env, email: string): Promise<number> {
  try {
    const d = await (await stub(env, email)).peek(policy(env));
    return d.allowed ? 0 : d.retryAfter;
  } catch (err) {
    logError("login", "gateway", err, { during: "login limiter" });
    return 0;
  }
}

export async function recordFailedLogin(env: Env, email: string): Promise<void> {
  try {
    await (await stub(env, email)).consume(policy(env));
  } catch (err) {
    logError("login", "gateway", err, { during: "login limiter" });
  }
}
