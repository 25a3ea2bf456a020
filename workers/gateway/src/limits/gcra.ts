/**
 * GCRA (the generic cell rate algorithm): `limit` requests per `windowSeconds`, the whole
 * allowance usable at once. State is one number, the theoretical arrival time (TAT).
 * With N allowed per window, 3N simultaneous requests admit exactly N.
 */
export interface Policy {
  limit: number;
  windowSeconds: number;
}

export interface Decision {
  allowed: boolean;
  /** Requests still allowed right now. */
  remaining: number;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfter: number;
  /** Seconds until the allowance is whole again. */
  reset: number;
  /** The policy applied (set by RateLimiter.admit). */
  limit?: number;
  window?: number;
}

export function gcra(tatMs: number, nowMs: number, policy: Policy, cost = 1): { decision: Decision; tat: number } {
  const interval = (policy.windowSeconds * 1000) / policy.limit;
  const tolerance = policy.windowSeconds * 1000 - interval;
  const tat = Math.max(tatMs, nowMs);
  const newTat = tat + interval * cost;
  const allowAt = newTat - (tolerance + interval);
  if (allowAt > nowMs) {
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, Math.floor((tolerance + interval - (tat - nowMs)) / interval)),
        retryAfter: Math.max(1, Math.ceil((allowAt - nowMs) / 1000)),
        reset: Math.ceil((tat - nowMs) / 1000),
      },
      tat: tatMs,
    };
  }
  return {
    decision: {
      allowed: true,
      remaining: Math.max(0, Math.floor((tolerance + interval - (newTat - nowMs)) / interval)),
      retryAfter: 0,
      reset: Math.ceil((newTat - nowMs) / 1000),
    },
    tat: newTat,
  };
}
