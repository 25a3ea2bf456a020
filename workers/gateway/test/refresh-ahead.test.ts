// The per-isolate cache behind principal status and role definitions (src/identity/refresh-ahead.ts).
import { describe, expect, it } from "vitest";
import { RefreshAheadCache } from "../src/identity/refresh-ahead";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function loader() {
  let n = 0;
  const gate: { open?: () => void } = {};
  return {
    calls: () => n,
    load: async () => ++n,
    /** A load that answers only when `gate.open()` is called. */
    held: () => new Promise<number>((resolve) => (gate.open = () => resolve(++n))),
    gate,
  };
}

describe("refresh-ahead cache", () => {
  it("serves from memory, refreshes in the background from half its age, and never serves an entry older than its age", async () => {
    const cache = new RefreshAheadCache<number>(200, 10);
    const l = loader();
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => pending.push(p);
    expect(await cache.get("k", l.load, { waitUntil })).toBe(1);
    expect(await cache.get("k", l.load, { waitUntil })).toBe(1);
    expect(pending).toHaveLength(0);
    await sleep(120);
    // Half its age: served as is, one refresh started in the background, not two.
    expect(await cache.get("k", l.held, { waitUntil })).toBe(1);
    expect(await cache.get("k", l.held, { waitUntil })).toBe(1);
    expect(pending).toHaveLength(1);
    l.gate.open!();
    await Promise.all(pending);
    expect(await cache.get("k", l.load, { waitUntil })).toBe(2);
    // Without a waitUntil (or after a whole age of silence) the caller waits for a load.
    await sleep(220);
    expect(await cache.get("k", l.load)).toBe(3);
    expect(l.calls()).toBe(3);
  });

  it("a refresh that started before a forget does not write its older answer back", async () => {
    const cache = new RefreshAheadCache<number>(100, 10);
    const l = loader();
    const pending: Promise<unknown>[] = [];
    await cache.get("k", l.load);
    await sleep(60);
    expect(await cache.get("k", l.held, { waitUntil: (p) => pending.push(p) })).toBe(1);
    cache.forget((key) => key === "k");
    l.gate.open!();
    await Promise.all(pending);
    // The refresh's answer (2) was read before the change: the next read loads afresh (3).
    expect(await cache.get("k", l.load)).toBe(3);
  });

  it("fresh reads skip the cache, and an entry that fails `valid` is loaded again", async () => {
    const cache = new RefreshAheadCache<number>(10_000, 10);
    const l = loader();
    await cache.get("k", l.load);
    expect(await cache.get("k", l.load, { fresh: true })).toBe(2);
    expect(await cache.get("k", l.load, { valid: (v) => v > 2 })).toBe(3);
  });
});
