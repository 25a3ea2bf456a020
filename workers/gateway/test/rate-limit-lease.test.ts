// Leases of rate-limit permits (RateLimiter.acquire, src/limits/leases.ts): the protocol at the
// Durable Object with many concurrent lease holders standing for many gateway isolates, the
// isolate's side of it, and the gateway's hot path spending a lease without asking the object.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { asLeaseCall, leaseKey, recordAcquired, spendLeased, takeReports } from "../src/limits/leases";
import { policiesFor, rateLimitConfig } from "../src/limits/policies";
import { LEASE_HOLD_MS, LEASE_MAX_PERMITS, type LimitCheck } from "../src/limits/rate-limiter";
import { gcra } from "../src/limits/gcra";
import { bearer, call, registerOrganization } from "./helpers";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const limiter = () => env.RATE_LIMITER.getByName(`lease-test:${crypto.randomUUID()}`);
const check = (key: string, limit: number, windowSeconds = 60): LimitCheck => ({ key, limit, windowSeconds });

describe("the limiter's leases", () => {
  it("never admits more than the policy allows, with many holders asking and spending at once", async () => {
    const stub = limiter();
    // 1200 per minute: one permit every 50 ms comes back, so the test's own duration counts.
    const checks = [check("user:a", 1200), check("org", 100_000)];
    const started = Date.now();
    let admitted = 0;
    let leased = 0;
    let refused = 0;
    // 40 holders (isolates), each asking again as soon as it has spent what it got, until refused.
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        for (;;) {
          const a = await stub.acquire(checks, true);
          if (!a.decisions.every((d) => d.allowed)) {
            refused++;
            return;
          }
          admitted += 1 + a.permits;
          leased += a.permits;
        }
      }),
    );
    const elapsed = Date.now() - started;
    // GCRA's bound from a whole allowance: the limit, plus what came back while the test ran.
    expect(admitted).toBeLessThanOrEqual(1200 + Math.ceil(elapsed / 50));
    // Not needlessly strict either: a lease costs at most the hold's worth of allowance.
    expect(admitted).toBeGreaterThanOrEqual(1200 - LEASE_HOLD_MS / 50 - 40);
    expect(leased).toBeGreaterThan(0);
    expect(refused).toBe(40);
  });

  it("what holders admit, each leased permit spent as late as its hold allows, is a sequence the policy itself admits", async () => {
    const stub = limiter();
    // 600 per minute: 5 permits per lease, one permit back every 100 ms.
    const policy = { limit: 600, windowSeconds: 60 };
    const checks = [check("user:late", policy.limit, policy.windowSeconds)];
    const admissions: number[] = [];
    const spends: Promise<void>[] = [];
    const take = async (): Promise<{ admitted: boolean; spent?: Promise<void> }> => {
      const askedAt = Date.now();
      const a = await stub.acquire(checks, true);
      if (!a.decisions[0]!.allowed) return { admitted: false };
      admissions.push(a.at);
      if (!a.permits) return { admitted: true };
      // The isolate's rule: spent before askedAt + hold - margin (leases.ts); here at the last moment.
      const last = askedAt + a.holdMs - 200 - 1;
      const spent = sleep(Math.max(0, last - Date.now())).then(() => {
        for (let i = 0; i < a.permits; i++) admissions.push(Math.min(Date.now(), last));
      });
      spends.push(spent);
      return { admitted: true, spent };
    };
    // A lease from an idle allowance, and a rush as it is spent: the case where counting a leased
    // permit at its asking instead of at its hold's end would admit most of a hold's worth too many.
    await (await take()).spent;
    const until = Date.now() + 2000;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (Date.now() < until) if (!(await take()).admitted) await sleep(20);
      }),
    );
    await Promise.all(spends);
    // Replay every admission in time order through the policy's own GCRA, from a whole allowance.
    admissions.sort((x, y) => x - y);
    let tat = 0;
    let over = 0;
    for (const t of admissions) {
      const r = gcra(tat, t, policy);
      if (r.decision.allowed) tat = r.tat;
      else over++;
    }
    expect(admissions.length).toBeGreaterThan(600);
    expect(over).toBe(0);
  });

  it("counts leased permits at the object before they are spent: a per-request caller sees them gone", async () => {
    const stub = limiter();
    const checks = [check("user:b", 6000)];
    const started = Date.now();
    const first = await stub.acquire(checks, true);
    // Allowing for permits that came back meanwhile (one per 10 ms).
    const back = () => Math.ceil((Date.now() - started) / 10) + 1;
    // 6000/min refills 100 per second: a lease holds at most half a hold's worth (50), capped.
    expect(first.permits).toBe(Math.min(LEASE_MAX_PERMITS, 50));
    const [after] = await stub.peekAll(checks);
    // The object counts the lease and the hold it is charged at (a hold's worth: 100 permits) ...
    expect(after!.remaining).toBeLessThanOrEqual(6000 - 1 - first.permits - LEASE_HOLD_MS / 10 + back());
    // ... and tells the holder what is left once the lease is spent, without the hold's charge.
    expect(first.decisions[0]!.remaining).toBe(6000 - 1 - first.permits);
  });

  it("leases nothing under small limits or near a limit: those requests keep asking one by one", async () => {
    const stub = limiter();
    expect((await stub.acquire([check("user:c", 5), check("org", 100_000)], true)).permits).toBe(0);
    // The caller's limit is large (200/min, 1 permit per lease) but it spends: leases stop
    // while a quarter of the allowance is left, and the rest goes one request at a time.
    const big = [check("user:d", 200)];
    const started = Date.now();
    let spent = 0;
    let leased = 0;
    for (;;) {
      const a = await stub.acquire(big, true);
      expect(a.decisions[0]!.allowed).toBe(true);
      spent += 1 + a.permits;
      leased += a.permits;
      if (!a.permits) break;
    }
    expect(leased).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(150 + 1);
    let left = 0;
    while ((await stub.acquire(big, true)).decisions[0]!.allowed) left++;
    expect(left).toBeGreaterThan(0);
    expect(spent + left).toBeLessThanOrEqual(200 + Math.ceil((Date.now() - started) / 300));
    expect(spent + left).toBeGreaterThanOrEqual(200 - Math.ceil(LEASE_HOLD_MS / 300) - 1);
  });

  it("a refused request leases nothing and spends nothing", async () => {
    const stub = limiter();
    // A day's window: nothing comes back while the test runs.
    const checks = [check("user:e", 600, 86_400), check("route:tiny", 1)];
    expect((await stub.acquire(checks, true)).decisions.every((d) => d.allowed)).toBe(true);
    const before = await stub.peekAll(checks);
    const refused = await stub.acquire(checks, true);
    expect(refused.permits).toBe(0);
    expect(refused.decisions[1]!.allowed).toBe(false);
    expect((await stub.peekAll(checks))[0]!.remaining).toBe(before[0]!.remaining);
  });
});

describe("an isolate's leases", () => {
  const decisions = [{ allowed: true, remaining: 500, retryAfter: 0, reset: 5, limit: 1000, window: 60 }];

  it("spends each permit once, none after the hold ends, and asks for a refill at half", () => {
    const key = leaseKey(`isolate-test:${crypto.randomUUID()}`, []);
    const t0 = 1_000_000;
    expect(spendLeased(key, t0)).toBeUndefined();
    recordAcquired(key, t0, { decisions, permits: 4, holdMs: 1000, at: 0, lease: "a" }, t0);
    const a = spendLeased(key, t0 + 1)!;
    // What this isolate still holds is shown as remaining, on top of the object's count.
    expect(a.decisions[0]!.remaining).toBe(503);
    expect(a.refill).toBe(false);
    expect(spendLeased(key, t0 + 2)!.refill).toBe(true);
    // A refill is under way: no second one.
    let done!: () => void;
    void asLeaseCall(key, () => new Promise<void>((r) => (done = r)));
    expect(spendLeased(key, t0 + 3)!.refill).toBe(false);
    done();
    expect(spendLeased(key, t0 + 4)).toBeDefined();
    expect(spendLeased(key, t0 + 5)).toBeUndefined();
    // Permits expire before the hold ends at the object, by a margin for the clocks.
    recordAcquired(key, t0 + 10, { decisions, permits: 4, holdMs: 1000, at: 0, lease: "b" }, t0 + 10);
    expect(spendLeased(key, t0 + 10 + 1000)).toBeUndefined();
  });

  it("reports each lease once: what was spent since the last report, and final once it is spent out or past its hold", () => {
    const key = leaseKey(`isolate-test:${crypto.randomUUID()}`, []);
    const t0 = 2_000_000;
    recordAcquired(key, t0, { decisions, permits: 3, holdMs: 1000, at: 0, lease: "a" }, t0);
    spendLeased(key, t0 + 1);
    expect(takeReports(key, t0 + 2)).toEqual([{ lease: "a", spent: 1, final: false }]);
    expect(takeReports(key, t0 + 3)).toEqual([]);
    spendLeased(key, t0 + 4);
    spendLeased(key, t0 + 5);
    recordAcquired(key, t0 + 6, { decisions, permits: 3, holdMs: 1000, at: 0, lease: "b" }, t0 + 6);
    spendLeased(key, t0 + 7);
    expect(takeReports(key, t0 + 8)).toEqual([
      { lease: "a", spent: 2, final: true },
      { lease: "b", spent: 1, final: false },
    ]);
    // Past its hold, what is left of "b" will never be spent.
    expect(takeReports(key, t0 + 6 + 1000)).toEqual([{ lease: "b", spent: 0, final: true }]);
    expect(spendLeased(key, t0 + 6 + 1000)).toBeUndefined();
  });
});

describe("the gateway's hot path", () => {
  it("spends a lease without asking the object: its count does not move for the next requests", async () => {
    const admin = await registerOrganization("Lease");
    // A route the gateway answers itself (404 after the limits): a service call slowed by a
    // loaded machine would take the lease near its hold's end and start a refill.
    const path = "/v1/lease-probe";
    const first = await call(path, bearer(admin.access_token));
    expect(first.status).toBe(404);
    const { object, policies } = policiesFor(
      rateLimitConfig(env),
      { method: "GET", path },
      { kind: "user", subject: admin.user_id, organization_id: admin.organization_id },
    );
    const stub = env.RATE_LIMITER.getByName(object);
    const checks = policies.map((p) => p.check);
    const counted = await stub.peekAll(checks);
    // The first request asked the object and took a lease on top.
    expect(counted[0]!.remaining).toBeLessThanOrEqual(1000 - 1 - 8);
    // The test config's user limit (1000/min) leases 8 permits: spend 3 (a refill starts at 4 left).
    for (let i = 0; i < 3; i++) {
      const res = await call(path, bearer(admin.access_token));
      expect(res.status).toBe(404);
      expect(res.headers.get("ratelimit")).toMatch(/"user";r=\d+;t=\d+/);
    }
    const still = await stub.peekAll(checks);
    // Unchanged but for what came back with time (remaining can only have grown).
    expect(still[0]!.remaining).toBeGreaterThanOrEqual(counted[0]!.remaining);
    expect(still[0]!.remaining - counted[0]!.remaining).toBeLessThanOrEqual(2);
  });
});
