import { ApiError, logError } from "@buildly/shared";
import type { Policy } from "../limits/gcra";
import { normalizeEmail } from "./accounts";
import { sha256Hex } from "./crypto";

function policy(env: Env): Policy {
  return { limit: Number(env.LOGIN_FAILURES_LIMIT) || 5, windowSeconds: Number(env.LOGIN_FAILURES_WINDOW_SECONDS) || 900 };
}

/**
 * Password checks per account, counted in the rate limiter's Durable Object. Keyed by a hash
 * of the normalized email (the same normalization the account lookup uses), known or not, so
 * every spelling of an address shares one counter and an unknown address behaves the same.
 * Logins and current-password checks of one account share it: they guess the same secret.
 */
async function stub(env: Env, email: string) {
  return env.RATE_LIMITER.getByName(`login:${await sha256Hex(normalizeEmail(email))}`);
}

export type PasswordAttempt =
  | { allowed: false; retryAfter: number }
  | { allowed: true /** Call once the password was right: a success does not count. */; succeeded(): Promise<void> };

/**
 * Reserves one password check for `email` before the password is looked at. The Durable
 * Object decides one reservation at a time, so N attempts sent at once get exactly `limit`
 * checks, whatever their spelling. If the limiter cannot be reached, checks stay possible
 * (fail open): an outage must not lock every user out, and PBKDF2 at 100,000 iterations still
 * makes guessing slow.
 */
export async function reservePasswordAttempt(env: Env, email: string): Promise<PasswordAttempt> {
  const p = policy(env);
  let limiter: Awaited<ReturnType<typeof stub>>;
  try {
    limiter = await stub(env, email);
    const d = await limiter.consume(p);
    if (!d.allowed) return { allowed: false, retryAfter: d.retryAfter };
  } catch (err) {
    logError("login", "gateway", err, { during: "login limiter" });
    return { allowed: true, succeeded: async () => undefined };
  }
  return {
    allowed: true,
    succeeded: async () => {
      try {
        await limiter.release(p);
      } catch (err) {
        logError("login", "gateway", err, { during: "login limiter" });
      }
    },
  };
}

/** 429 problem+json for the gateway's own password checks (the token endpoint answers its OAuth form). */
export function tooManyPasswordAttempts(retryAfter: number): ApiError {
  return new ApiError(429, `Too many wrong passwords for this account. Retry in ${retryAfter} seconds.`, {
    headers: { "retry-after": String(retryAfter) },
  });
}
