import { DurableObject } from "cloudflare:workers";
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
 * Exact rate limiting. One Durable Object per limited subject: an organization (holding its
 * own total, its users', clients' and routes' states, since every call of the organization
 * passes its total anyway), an anonymous IP address, or an account's failed logins. Its
 * methods are synchronous over SQLite-backed storage, so they run one at a time and every
 * decision is exact under any concurrency: with N allowed, 3N at once admit exactly N.
 */
export class RateLimiter extends DurableObject<Env> {
  private tats = new Map<string, number>();
  /** States changed since the last flush; written behind, at most once a second. */
  private dirty = new Set<string>();
  private flushScheduled = false;

  private tat(key: string): number {
    let t = this.tats.get(key);
    if (t === undefined) {
      t = this.ctx.storage.kv.get<number>(`tat:${key}`) ?? 0;
      this.tats.set(key, t);
    }
    return t;
  }

  /**
   * Decisions come from memory; storage only keeps the state across an eviction (which needs
   * the object to be idle first). Writing behind, once a second, keeps a storage write off
   * every request: at worst an eviction forgets the last second of a key's spending.
   */
  private save(key: string, tat: number): void {
    this.tats.set(key, tat);
    this.dirty.add(key);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      void this.ctx.storage.setAlarm(Date.now() + FLUSH_MS);
    }
  }

  async alarm(): Promise<void> {
    this.flushScheduled = false;
    const now = Date.now();
    for (const key of this.dirty) {
      const tat = this.tats.get(key);
      // A state whose allowance is whole again is the same as no state.
      if (tat === undefined || tat <= now) this.ctx.storage.kv.delete(`tat:${key}`);
      else this.ctx.storage.kv.put(`tat:${key}`, tat);
    }
    this.dirty.clear();
  }

  /** Spends `cost` of one allowance if it is there (login failures). */
  consume(policy: Policy, cost = 1): Decision {
    const { decision, tat } = gcra(this.tat("default"), Date.now(), policy, cost);
    if (decision.allowed) this.save("default", tat);
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
    return gcra(this.tat("default"), Date.now(), policy, 1).decision;
  }

  /**
   * Checks every limit of a request; spends from all of them only if all allow it, so a
   * refused request costs nothing anywhere. Organization overrides replace the defaults.
   */
  admit(checks: LimitCheck[]): Decision[] {
    const now = Date.now();
    const overrides = this.overrides();
    const results = checks.map((c) => {
      const policy = (c.scope && overrides[c.scope]) || c;
      return { key: c.key, policy, ...gcra(this.tat(c.key), now, policy) };
    });
    const allowed = results.every((r) => r.decision.allowed);
    if (allowed) for (const r of results) this.save(r.key, r.tat);
    return results.map((r) => ({ ...r.decision, allowed: r.decision.allowed && allowed, limit: r.policy.limit, window: r.policy.windowSeconds }));
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
    this.tats.clear();
    this.dirty.clear();
    this.overridesCache = undefined;
    this.ctx.storage.deleteAll();
  }
}
