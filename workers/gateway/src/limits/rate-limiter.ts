import { DurableObject } from "cloudflare:workers";
import { inCallerSpan } from "@buildly/shared/service";
import { gcra, type Decision, type Policy } from "./gcra";

const FLUSH_MS = 1000;

/** One limit to check in an `admit` call: a GCRA state under `key`. */
export interface LimitCheck extends Policy {
  /** The state's key inside this object, e.g. "user:<id>" or "org". */
  key: string;
  /** Scope name an organization may override ("user", "client", "organization"). */
  scope?: string;
}

export type Overrides = Partial<Record<string, Policy>>;

/**
 * Leases (see bench/README.md, "The rate limiter off the hot path"): a gateway isolate may take
 * a few permits in advance and spend them without asking, if it spends each one within
 * `LEASE_HOLD_MS` of asking. The object counts a leased permit as spent at the end of that
 * hold, which is never earlier than the request it admits, and checks it against the
 * allowance now, which is never later: so every leased permit is counted at least as strictly
 * as the same request asking itself, and a limit is never exceeded however many isolates hold
 * leases at once.
 */
export const LEASE_HOLD_MS = 1000;
/** Policies under this limit are never leased: every request asks (the login-sized limits). */
export const LEASE_MIN_LIMIT = 100;
/** The most permits one lease holds. */
export const LEASE_MAX_PERMITS = 64;
/** A lease is granted only if this share of the allowance stays untouched after it: near its
 *  limit a caller asks per request, and no lease can take the last permits. */
const LEASE_HEADROOM = 0.25;

/** What `acquire` answers: the decisions (as `admit`'s) and the permits leased on top. */
export interface Acquired {
  decisions: Decision[];
  /** Permits leased to the caller, each to be spent within `holdMs` of its asking, or never. */
  permits: number;
  holdMs: number;
  /** The object's clock when it decided. */
  at: number;
  /** The lease's name, for the holder's reports (set when permits > 0). */
  lease?: string;
}

/**
 * What a holder tells the object about a lease: `spent` more of its permits were spent since
 * its last report (all of them before this report left), and, when `final`, that the rest will
 * never be (the hold ended, or the holder dropped them). The object then counts those permits
 * at the report's arrival instead of the hold's end, and forgets the rest: a burst is not
 * charged for permits nobody spends, nor for the hold of permits already spent.
 */
export interface LeaseReport {
  lease: string;
  spent: number;
  final: boolean;
}

export interface AcquireOptions {
  /** Lease permits on top (default true). A holder asks for one lease at a time per key. */
  lease?: boolean;
  reports?: LeaseReport[];
  /** The caller's span (W3C traceparent), sent only while the caller's telemetry records. */
  trace?: string;
}

/**
 * A step of a state's recent history: `count` permits counted as arriving at `at` (an admitted
 * request at its decision, a lease at its hold's end). Kept only while a lease in it can still
 * be reported, so that the report can change that lease's step and the TAT be folded again.
 */
interface Step {
  lease?: string;
  at: number;
  count: number;
}

/**
 * One GCRA state: the theoretical arrival time, and the policy it was counted under. A state
 * counted under another limit or window means nothing under the new one (1 per day leaves a
 * TAT a day ahead, which 6000 per minute would read as a day's wait), so a changed policy
 * starts from a fresh state. While a lease on it is outstanding, `steps` holds what was
 * counted since `base` (the TAT before them): `tat` is always `fold(base, steps)`.
 */
interface State {
  tat: number;
  /** "limit/windowSeconds"; absent in states written before policies were recorded. */
  policy?: string;
  base?: number;
  steps?: Step[];
}

const signature = (p: Policy) => `${p.limit}/${p.windowSeconds}`;
const intervalOf = (p: Policy) => (p.windowSeconds * 1000) / p.limit;
/** GCRA's update over steps: each arrives at `at`, `count` intervals each. */
const fold = (base: number, steps: Step[], interval: number) => steps.reduce((tat, s) => Math.max(tat, s.at) + s.count * interval, base);
/** The most steps kept per state: older ones fold into the base (their leases can no longer be given back). */
const MAX_STEPS = 32;

/**
 * Exact rate limiting. One Durable Object per limited subject: an organization (holding its
 * own total, its users', clients' and routes' states, since every call of the organization
 * passes its total anyway), an anonymous IP address, or an account's failed logins. Its
 * methods are synchronous over SQLite-backed storage, so they run one at a time and every
 * decision is exact under any concurrency: with N allowed, 3N at once admit exactly N.
 */
export class RateLimiter extends DurableObject<Env> {
  private states = new Map<string, State>();
  /** States changed since the last flush; written behind, at most once a second. */
  private dirty = new Set<string>();
  private flushScheduled = false;

  /** The key's TAT, or 0 (a fresh state) when it was counted under another policy than `policy`. */
  private tat(key: string, policy?: Policy): number {
    let s = this.states.get(key);
    if (s === undefined) {
      const stored = this.ctx.storage.kv.get<State | number>(`tat:${key}`);
      s = typeof stored === "number" ? { tat: stored } : (stored ?? { tat: 0 });
      this.states.set(key, s);
    }
    return !policy || s.policy === undefined || s.policy === signature(policy) ? s.tat : 0;
  }

  /**
   * Decisions come from memory; storage only keeps the state across an eviction (which needs
   * the object to be idle first). Writing behind, once a second, keeps a storage write off
   * every request: at worst an eviction forgets the last second of a key's spending (and the
   * steps of its outstanding leases, which then stay charged in full).
   */
  private save(key: string, tat: number, policy?: Policy): void {
    this.states.set(key, { tat, policy: policy ? signature(policy) : this.states.get(key)?.policy });
    this.touched(key);
  }

  private touched(key: string): void {
    this.dirty.add(key);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      void this.ctx.storage.setAlarm(Date.now() + FLUSH_MS);
    }
  }

  /**
   * Counts `step` on the key: GCRA's update, `max(tat, at) + count x interval`. While a lease
   * on the key is outstanding the step is kept, so a report can fold the TAT again.
   */
  private count(key: string, policy: Policy, step: Step): number {
    const interval = intervalOf(policy);
    const before = this.tat(key, policy);
    const tat = Math.max(before, step.at) + step.count * interval;
    const s = this.states.get(key);
    const steps = s?.policy === signature(policy) ? s.steps : undefined;
    if (!steps && !step.lease) {
      this.save(key, tat, policy);
      return tat;
    }
    const next: State = { tat, policy: signature(policy), base: steps ? s!.base! : before, steps: steps ?? [] };
    const last = next.steps!.at(-1);
    // Admissions in a row while the TAT is ahead of them fold into one step, exactly.
    if (!step.lease && last && !last.lease && fold(next.base!, next.steps!.slice(0, -1), interval) >= step.at) {
      last.at = step.at;
      last.count += step.count;
    } else next.steps!.push({ ...step });
    while (next.steps!.length > MAX_STEPS) next.base = fold(next.base!, next.steps!.splice(0, 1), interval);
    this.states.set(key, next);
    this.touched(key);
    return tat;
  }

  /**
   * A holder's reports on its leases. The spent permits arrived before `now` (the report left
   * after them), so they are counted at `now` if that is before their hold's end; a final
   * report drops the rest. Counting an arrival later than it was is never lenient, and GCRA's
   * fold over steps bounds the real TAT in any order of the steps (bench/README.md), so the
   * admissions stay ones the policy itself admits; the TAT only ever goes down to that bound.
   */
  private applyReports(checks: LimitCheck[], reports: LeaseReport[], now: number): void {
    if (!reports.length) return;
    const overrides = this.overrides();
    for (const c of checks) {
      const s = this.states.get(c.key);
      if (!s?.steps) continue;
      const policy = (c.scope && overrides[c.scope]) || c;
      if (s.policy !== signature(policy)) continue;
      let changed = false;
      for (const r of reports) {
        const i = s.steps.findIndex((st) => st.lease === r.lease);
        if (i < 0) continue;
        const leased = s.steps[i]!;
        const spent = Math.min(Math.max(0, Math.floor(r.spent)), leased.count);
        const replaced: Step[] = [];
        if (spent > 0) replaced.push({ at: Math.min(now, leased.at), count: spent });
        if (!r.final && leased.count > spent) replaced.push({ lease: leased.lease, at: leased.at, count: leased.count - spent });
        s.steps.splice(i, 1, ...replaced);
        changed = true;
      }
      if (!changed) continue;
      const interval = intervalOf(policy);
      // Steps before the first outstanding lease can no longer change: fold them into the base.
      const first = s.steps.findIndex((st) => st.lease);
      const settled = first < 0 ? s.steps.length : first;
      s.base = fold(s.base!, s.steps.splice(0, settled), interval);
      s.tat = fold(s.base, s.steps, interval);
      if (!s.steps.length) {
        s.steps = undefined;
        s.base = undefined;
      }
      this.touched(c.key);
    }
  }

  async alarm(): Promise<void> {
    this.flushScheduled = false;
    const now = Date.now();
    for (const key of this.dirty) {
      const s = this.states.get(key);
      // A state whose allowance is whole again is the same as no state.
      if (s === undefined || s.tat <= now) this.ctx.storage.kv.delete(`tat:${key}`);
      else this.ctx.storage.kv.put<State>(`tat:${key}`, { tat: s.tat, policy: s.policy });
    }
    this.dirty.clear();
  }

  /** Spends `cost` of one allowance if it is there (login failures). */
  consume(policy: Policy, cost = 1): Decision {
    const { decision, tat } = gcra(this.tat("default", policy), Date.now(), policy, cost);
    if (decision.allowed) this.save("default", tat, policy);
    return decision;
  }

  /**
   * Gives back `cost` spent by `consume` (a reservation that turned out not to count, e.g. a
   * login whose password was right). Never leaves more than the whole allowance.
   */
  release(policy: Policy, cost = 1): void {
    const interval = (policy.windowSeconds * 1000) / policy.limit;
    const now = Date.now();
    const tat = this.tat("default");
    if (tat > now) this.save("default", Math.max(now, tat - interval * cost));
  }

  /** Whether a request would be allowed now, spending nothing. */
  peek(policy: Policy): Decision {
    return gcra(this.tat("default", policy), Date.now(), policy, 1).decision;
  }

  /**
   * Checks every limit of a request; spends from all of them only if all allow it, so a
   * refused request costs nothing anywhere. Organization overrides replace the defaults.
   * Each decision says whether its own limit allows the request (the request goes through
   * only if all do), and what is left of it after this request: unspent when it is refused.
   */
  admit(checks: LimitCheck[]): Decision[] {
    const now = Date.now();
    const overrides = this.overrides();
    const results = checks.map((c) => {
      const policy = (c.scope && overrides[c.scope]) || c;
      const before = this.tat(c.key, policy);
      return { key: c.key, policy, before, ...gcra(before, now, policy) };
    });
    const allowed = results.every((r) => r.decision.allowed);
    if (allowed) for (const r of results) this.count(r.key, r.policy, { at: now, count: 1 });
    return results.map((r) => {
      const d = { ...r.decision, limit: r.policy.limit, window: r.policy.windowSeconds };
      if (allowed || !d.allowed) return d;
      // Refused because of another limit: nothing was spent from this one.
      return { ...d, remaining: Math.min(r.policy.limit, d.remaining + 1), reset: Math.max(0, Math.ceil((r.before - now) / 1000)) };
    });
  }

  private leases = 0;

  /**
   * The holder's `reports` first; then `admit` (when `admitNow`) and, if the request is allowed
   * and `options.lease` is not false, a lease of permits on top: as many as every one of its
   * policies can spare, at most the policy's refill over half a hold and `LEASE_MAX_PERMITS`,
   * leaving `LEASE_HEADROOM` of each allowance untouched. Each leased permit is charged as if it
   * arrived at the end of the hold (GCRA counts a later arrival at least as strictly) and is
   * checked against the allowance now; the holder's reports later give back what it did not
   * spend and the hold of what it spent. No lease (0 permits) for a policy under
   * `LEASE_MIN_LIMIT` or a caller near its limit: those requests keep asking.
   */
  acquire(checks: LimitCheck[], admitNow: boolean, options: AcquireOptions = {}): Acquired {
    if (options.trace)
      return inCallerSpan(this.env, this.ctx, "gateway", options.trace, "RateLimiter acquire", { "buildly.ratelimit.checks": checks.length }, () =>
        this.decide(checks, admitNow, options),
      );
    return this.decide(checks, admitNow, options);
  }

  private decide(checks: LimitCheck[], admitNow: boolean, options: AcquireOptions): Acquired {
    const now = Date.now();
    this.applyReports(checks, options.reports ?? [], now);
    const decisions = admitNow ? this.admit(checks) : this.peekAll(checks);
    const none = { decisions, permits: 0, holdMs: LEASE_HOLD_MS, at: now };
    if (options.lease === false || (admitNow && decisions.some((d) => !d.allowed))) return none;
    const overrides = this.overrides();
    const plans = checks.map((c) => {
      const policy = (c.scope && overrides[c.scope]) || c;
      const interval = intervalOf(policy);
      const before = Math.max(this.tat(c.key, policy), now);
      const base = Math.max(before, now + LEASE_HOLD_MS);
      const want = Math.min(LEASE_MAX_PERMITS, Math.floor((policy.limit * LEASE_HOLD_MS) / (policy.windowSeconds * 1000) / 2));
      // The latest TAT a grant may leave: the allowance minus its untouched headroom, from now.
      const ceiling = now + policy.windowSeconds * 1000 - Math.ceil(policy.limit * LEASE_HEADROOM) * interval;
      const fits = Math.floor((ceiling - base) / interval);
      return { key: c.key, policy, interval, before, spare: policy.limit < LEASE_MIN_LIMIT ? 0 : Math.max(0, Math.min(want, fits)) };
    });
    const permits = Math.min(...plans.map((p) => p.spare));
    if (!(permits > 0)) return none;
    const lease = `${now.toString(36)}.${++this.leases}`;
    return {
      permits,
      at: now,
      holdMs: LEASE_HOLD_MS,
      lease,
      decisions: plans.map((p) => {
        this.count(p.key, p.policy, { lease, at: now + LEASE_HOLD_MS, count: permits });
        // What is left once the leased permits are spent, shown without the hold's charge: that
        // charge only lasts while the lease does (see bench/README.md on the headers).
        const spent = p.before + permits * p.interval;
        return {
          allowed: true,
          remaining: Math.max(0, Math.floor((now + p.policy.windowSeconds * 1000 - spent) / p.interval)),
          retryAfter: 0,
          reset: Math.ceil((spent - now) / 1000),
          limit: p.policy.limit,
          window: p.policy.windowSeconds,
        };
      }),
    };
  }

  /**
   * Charges `cost` more to each limit of an admitted request, allowed or not (the service calls
   * it made beyond its first: rate-limit.ts). The debt is at most one window: later requests are
   * refused until it is paid back. Counted as a step, so that the leases outstanding on the
   * state can still be reported (saving the TAT alone dropped their steps: their unspent permits
   * and holds then stayed charged).
   */
  charge(checks: LimitCheck[], cost: number, trace?: string): void {
    if (trace) {
      inCallerSpan(this.env, this.ctx, "gateway", trace, "RateLimiter charge", { "buildly.ratelimit.cost": cost }, () => this.charge(checks, cost));
      return;
    }
    if (!(cost > 0)) return;
    const now = Date.now();
    const overrides = this.overrides();
    for (const c of checks) {
      const policy = (c.scope && overrides[c.scope]) || c;
      const interval = intervalOf(policy);
      const tat = Math.max(this.tat(c.key, policy), now);
      const counted = Math.min(Math.ceil(cost), Math.floor((now + policy.windowSeconds * 1000 + interval - tat) / interval));
      if (counted > 0) this.count(c.key, policy, { at: now, count: counted });
    }
  }

  /** `admit`'s decisions without spending anything. */
  peekAll(checks: LimitCheck[]): Decision[] {
    const now = Date.now();
    const overrides = this.overrides();
    return checks.map((c) => {
      const policy = (c.scope && overrides[c.scope]) || c;
      return { ...gcra(this.tat(c.key, policy), now, policy).decision, limit: policy.limit, window: policy.windowSeconds };
    });
  }

  private overridesCache: Overrides | undefined;

  overrides(): Overrides {
    this.overridesCache ??= this.ctx.storage.kv.get<Overrides>("overrides") ?? {};
    return this.overridesCache;
  }

  /** An organization's own limits (validated against the platform maximums by the gateway). */
  setOverrides(overrides: Overrides): Overrides {
    this.overridesCache = overrides;
    this.ctx.storage.kv.put("overrides", overrides);
    return overrides;
  }

  reset(): void {
    this.states.clear();
    this.dirty.clear();
    this.overridesCache = undefined;
    this.ctx.storage.deleteAll();
  }
}
