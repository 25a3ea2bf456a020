import { DurableObject } from "cloudflare:workers";
import { gcra, type Decision, type Policy } from "./gcra";

/**
 * One Durable Object per limited key (an account's failed logins, a user's calls, ...), so a
 * busy key never slows another. Its methods run one at a time and touch only synchronous
 * storage, so every decision is exact under any concurrency.
 */
export class RateLimiter extends DurableObject<Env> {
  private tat: number | undefined;

  private load(): number {
    this.tat ??= (this.ctx.storage.kv.get<number>("tat") ?? 0);
    return this.tat;
  }

  /** Spends `cost` of the allowance if it is there. */
  consume(policy: Policy, cost = 1): Decision {
    const { decision, tat } = gcra(this.load(), Date.now(), policy, cost);
    if (decision.allowed) {
      this.tat = tat;
      this.ctx.storage.kv.put("tat", tat);
    }
    return decision;
  }

  /** Whether a request would be allowed now, spending nothing. */
  peek(policy: Policy): Decision {
    return gcra(this.load(), Date.now(), policy, 1).decision;
  }

  reset(): void {
    this.tat = 0;
    this.ctx.storage.kv.delete("tat");
  }
}
