// The bench's far-from-the-data mode must leave behaviour unchanged: same answers, only later.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withSimulatedLatency } from "../src/http/simulated-latency";

describe("simulated data latency (bench only)", () => {
  it("is off unless the variable is set", () => {
    expect(withSimulatedLatency(env)).toBe(env);
  });

  it("delays D1 statements, batches and Durable Object calls without changing their results", async () => {
    const slow = withSimulatedLatency({ ...env, SIMULATED_DATA_LATENCY_MS: "20" } as Env);
    expect(slow.DB).not.toBe(env.DB);
    const started = performance.now();
    const one = await slow.DB.prepare("SELECT ?1 + 1 AS n").bind(41).first<{ n: number }>();
    expect(one?.n).toBe(42);
    const [a, b] = await slow.DB.batch([slow.DB.prepare("SELECT 1 AS n"), slow.DB.prepare("SELECT ?1 AS n").bind(2)]);
    expect([a?.results[0], b?.results[0]]).toEqual([{ n: 1 }, { n: 2 }]);
    const stub = slow.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    expect(typeof stub).toBe("object");
    // Three delayed waits happened (first, batch, and nothing else yet): the clock moved by them.
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
  });
});

describe("simulated data latency keeps the platform working", () => {
  it("a delayed Durable Object call answers as the real one, once per delay", async () => {
    const slow = withSimulatedLatency({ ...env, SIMULATED_DATA_LATENCY_MS: "50" } as Env);
    const stub = slow.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const started = performance.now();
    const d = await stub.consume({ limit: 5, windowSeconds: 60 });
    expect(d.allowed).toBe(true);
    const a = await stub.acquire([{ key: "user:x", limit: 6000, windowSeconds: 60 }], true);
    expect(a.permits).toBeGreaterThan(0);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(100);
  });
});

describe("simulated data latency wraps only D1 and Durable Object namespaces", () => {
  it("leaves service bindings and vars alone", () => {
    const slow = withSimulatedLatency({ ...env, SIMULATED_DATA_LATENCY_MS: "20" } as Env);
    expect(slow.CRM).toBe(env.CRM);
    expect(slow.RATE_LIMITER).not.toBe(env.RATE_LIMITER);
    expect(slow.IDEMPOTENCY).not.toBe(env.IDEMPOTENCY);
    expect(slow.AUDIENCE).toBe(env.AUDIENCE);
  });
});
