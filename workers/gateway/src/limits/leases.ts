import type { Decision } from "./gcra";
import type { Acquired } from "./rate-limiter";

/**
 * This isolate's leases of permits from the RateLimiter objects (see `RateLimiter.acquire` and
 * bench/README.md): one per limited object and set of checks (one caller's policies on one
 * kind of route), spent here without a Durable Object call while it lasts.
 */
interface Batch {
  left: number;
  /** This isolate's clock when the lease was asked for, plus the hold, minus a margin. */
  expiresAt: number;
}

interface Lease {
  batches: Batch[];
  /** The object's decisions when it last answered, and this isolate's clock then. */
  decisions: Decision[];
  decidedAt: number;
  /** The size of the last grant: a refill starts when half of it is left. */
  granted: number;
  refilling: boolean;
}

/**
 * A permit must be spent before its hold ends at the object. This isolate's clock stands
 * still while a request runs and may differ a little from the object's: spend each permit at
 * least this long before the hold ends by this clock.
 */
const CLOCK_MARGIN_MS = 200;
/** Bounded memory: the least recently asked-for leases go first. */
const MAX_LEASES = 5000;

const leases = new Map<string, Lease>();

export function leaseKey(object: string, checks: unknown): string {
  return `${object}\n${JSON.stringify(checks)}`;
}

/** The batches still spendable, soonest to expire first. */
function live(lease: Lease, now: number): Batch[] {
  lease.batches = lease.batches.filter((b) => b.left > 0 && b.expiresAt > now);
  return lease.batches;
}

function leftOf(lease: Lease, now: number): number {
  return live(lease, now).reduce((n, b) => n + b.left, 0);
}

/**
 * Spends one leased permit if there is one. Returns the decisions to show (the object's last
 * ones, with the permits this isolate still holds added to what is left, and the reset
 * counted down since), and whether a refill should start now.
 */
export function spendLeased(key: string, now = Date.now()): { decisions: Decision[]; refill: boolean } | undefined {
  const lease = leases.get(key);
  if (!lease) return undefined;
  const batch = live(lease, now)[0];
  if (!batch) return undefined;
  batch.left--;
  const left = leftOf(lease, now);
  const elapsed = Math.floor((now - lease.decidedAt) / 1000);
  // A leased permit is an allowance already decided, whatever the object said since.
  const decisions = lease.decisions.map((d) => ({
    ...d,
    allowed: true,
    retryAfter: 0,
    remaining: Math.min(d.limit ?? Number.POSITIVE_INFINITY, d.remaining + left),
    reset: Math.max(0, d.reset - elapsed),
  }));
  const refill = !lease.refilling && (left <= lease.granted / 2 || (lease.batches[lease.batches.length - 1]?.expiresAt ?? 0) - now < 400);
  if (refill) lease.refilling = true;
  return { decisions, refill };
}

/** Records what the object answered to a request asked at `askedAt` (this isolate's clock). */
export function recordAcquired(key: string, askedAt: number, acquired: Acquired, now = Date.now()): void {
  let lease = leases.get(key);
  if (!lease) {
    if (!acquired.permits) return;
    if (leases.size >= MAX_LEASES) leases.delete(leases.keys().next().value!);
    lease = { batches: [], decisions: acquired.decisions, decidedAt: now, granted: 0, refilling: false };
  } else leases.delete(key); // re-inserted below: the map's order is recency of use
  leases.set(key, lease);
  lease.refilling = false;
  lease.decisions = acquired.decisions;
  lease.decidedAt = now;
  lease.granted = acquired.permits;
  if (acquired.permits > 0) {
    lease.batches.push({ left: acquired.permits, expiresAt: askedAt + acquired.holdMs - CLOCK_MARGIN_MS });
  }
}

/** A refill that failed: the next spend may try again. */
export function refillFailed(key: string): void {
  const lease = leases.get(key);
  if (lease) lease.refilling = false;
}

/** Drops every lease on `object` (its organization's limits changed here). */
export function dropLeases(object: string): void {
  for (const key of leases.keys()) if (key.startsWith(`${object}\n`)) leases.delete(key);
}
