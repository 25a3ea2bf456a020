import type { Decision } from "./gcra";
import type { Acquired, LeaseReport } from "./rate-limiter";

/**
 * This isolate's leases of permits from the RateLimiter objects (see `RateLimiter.acquire` and
 * bench/README.md): one per limited object and set of checks (one caller's policies on one
 * kind of route), spent here without a Durable Object call while it lasts. At most one call
 * that may bring a lease is in flight per key (`inFlight`): concurrent requests wait for it
 * rather than each taking a lease nobody spends, and each call reports what became of the
 * earlier leases, so that the object gives back what was not spent.
 */
interface Batch {
  /** The object's name for the lease, for reports. */
  id: string;
  left: number;
  spent: number;
  /** Spent permits already reported to the object. */
  reported: number;
  /** This isolate's clock when the lease was asked for, plus the hold, minus a margin. */
  expiresAt: number;
}

interface Lease {
  /** Every batch not yet reported as finished, live or not. */
  batches: Batch[];
  /** The object's decisions when it last answered, and this isolate's clock then. */
  decisions: Decision[];
  decidedAt: number;
  /** The size of the last grant: a refill starts when half of it is left. */
  granted: number;
  /** How many refused requests may ask again after this isolate gave back lapsed permits (rate-limit.ts). */
  credit: number;
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
/** The call that may bring a lease, per key, while it is under way. Never rejects. */
const inFlight = new Map<string, Promise<void>>();

export function leaseKey(object: string, checks: unknown): string {
  return `${object}\n${JSON.stringify(checks)}`;
}

const isLive = (b: Batch, now: number) => b.left > 0 && b.expiresAt > now;

/** The batches still spendable, soonest to expire first. */
function live(lease: Lease, now: number): Batch[] {
  return lease.batches.filter((b) => isLive(b, now));
}

function leftOf(lease: Lease, now: number): number {
  return live(lease, now).reduce((n, b) => n + b.left, 0);
}

/**
 * Spends one leased permit if there is one. Returns the decisions to show (the object's last
 * ones, with the permits this isolate still holds added to what is left, and the reset
 * counted down since), and whether a refill should start now (none is under way).
 */
export function spendLeased(key: string, now = Date.now()): { decisions: Decision[]; refill: boolean } | undefined {
  const lease = leases.get(key);
  if (!lease) return undefined;
  const batch = live(lease, now)[0];
  if (!batch) return undefined;
  batch.left--;
  batch.spent++;
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
  const newest = lease.batches.reduce((t, b) => Math.max(t, b.expiresAt), 0);
  const refill = !inFlight.has(key) && (left <= lease.granted / 2 || newest - now < 400);
  return { decisions, refill };
}

/**
 * The permits this isolate holds for `key` and has not spent: `live` ones it may still spend,
 * and `lapsed` ones past their hold, charged at the object until a report gives them back.
 */
export function unspent(key: string, now = Date.now()): { live: number; lapsed: number } {
  const batches = leases.get(key)?.batches ?? [];
  let live = 0;
  let lapsed = 0;
  for (const b of batches) {
    if (isLive(b, now)) live += b.left;
    else lapsed += b.left;
  }
  return { live, lapsed };
}

/** Lets `n` refused requests ask again, after this isolate gave back lapsed permits (0 clears it). */
export function setCredit(key: string, n: number): void {
  const lease = leases.get(key);
  if (lease) lease.credit = Math.max(0, n);
}

/** Takes one ask-again of `setCredit`, if any is left. */
export function takeCredit(key: string): boolean {
  const lease = leases.get(key);
  if (!lease?.credit) return false;
  lease.credit--;
  return true;
}

/**
 * What to tell the object about this key's leases with the next call: the permits spent since
 * the last report, and which batches are finished (all spent, or past their hold: their
 * unspent permits will never be). Finished batches are forgotten here once reported.
 */
export function takeReports(key: string, now = Date.now()): LeaseReport[] {
  const lease = leases.get(key);
  if (!lease) return [];
  const reports: LeaseReport[] = [];
  lease.batches = lease.batches.filter((b) => {
    const final = !isLive(b, now);
    if (final || b.spent > b.reported) reports.push({ lease: b.id, spent: b.spent - b.reported, final });
    b.reported = b.spent;
    return !final;
  });
  return reports;
}

/** Records what the object answered to a request asked at `askedAt` (this isolate's clock). */
export function recordAcquired(key: string, askedAt: number, acquired: Acquired, now = Date.now()): void {
  let lease = leases.get(key);
  if (!lease) {
    if (!acquired.permits) return;
    if (leases.size >= MAX_LEASES) leases.delete(leases.keys().next().value!);
    lease = { batches: [], decisions: acquired.decisions, decidedAt: now, granted: 0, credit: 0 };
  } else leases.delete(key); // re-inserted below: the map's order is recency of use
  leases.set(key, lease);
  lease.decisions = acquired.decisions;
  lease.decidedAt = now;
  lease.granted = acquired.permits;
  if (acquired.permits > 0) {
    lease.batches.push({
      id: acquired.lease ?? "",
      left: acquired.permits,
      spent: 0,
      reported: 0,
      expiresAt: askedAt + acquired.holdMs - CLOCK_MARGIN_MS,
    });
  }
}

/** The call under way that may bring `key` a lease, if any. */
export function leaseInFlight(key: string): Promise<void> | undefined {
  return inFlight.get(key);
}

/**
 * Runs `call` as the one call that may bring `key` a lease. Requests that find no permit while
 * it runs wait for it (`leaseInFlight`) instead of taking leases of their own.
 */
export function asLeaseCall<T>(key: string, call: () => Promise<T>): Promise<T> {
  const running = call();
  const settled = running.then(
    () => undefined,
    () => undefined,
  );
  inFlight.set(key, settled);
  void settled.then(() => {
    if (inFlight.get(key) === settled) inFlight.delete(key);
  });
  return running;
}

/** Drops every lease on `object` (its organization's limits changed here). */
export function dropLeases(object: string): void {
  for (const key of leases.keys()) if (key.startsWith(`${object}\n`)) leases.delete(key);
}
