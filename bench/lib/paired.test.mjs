// The paired computation of the bench's goal lines (no timing here: fixed inputs, exact outputs).
// Run: node --test bench/lib/paired.test.mjs (in no test command: the bench has no project of its own)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { describe as describeSpread, median, pairsOf, paired, spread } from "./paired.mjs";

test("median of odd and even counts, ignoring what is not a number", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([1, Number.NaN, 3, undefined]), 2);
  assert.ok(Number.isNaN(median([])));
});

test("spread: range always, middle half from four values", () => {
  assert.deepEqual(spread([5, 1, 3]), { n: 3, median: 3, min: 1, max: 5, q1: Number.NaN, q3: Number.NaN });
  const s = spread([8, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(s.median, 4.5);
  assert.equal(s.q1, 3); // nearest rank: index round(0.25 * 7) = 2
  assert.equal(s.q3, 6);
  assert.equal(
    describeSpread(spread([1, 2]), (n) => `${n}%`),
    "median of 2 pairs, range 1% to 2%",
  );
  assert.equal(describeSpread(s, String), "median of 8 pairs, range 1 to 8, middle half 3 to 6");
});

test("pairs are the segments of one block; blocks missing a row give no pair", () => {
  const lines = [
    { id: "e", block: 1, v: 10 },
    { id: "c", block: 1, v: 12 },
    { id: "e", block: 2, v: 20 },
    { id: "x", block: 2, v: 0 },
    { id: "c", block: 3, v: 30 },
    { id: "c", block: 4, v: 41 },
    { id: "e", block: 4, v: 40 },
  ];
  assert.deepEqual(
    pairsOf(lines, "e", "c").map(([a, b]) => [a.v, b.v]),
    [
      [10, 12],
      [40, 41],
    ],
  );
  // Lines without a block (rounds measured in turn) pair by round.
  const rounds = [
    { id: "e", round: 1, v: 1 },
    { id: "c", round: 1, v: 3 },
    { id: "e", round: 2, v: 2 },
    { id: "c", round: 2, v: 7 },
  ];
  assert.equal(paired(rounds, "e", "c", (a, b) => b.v - a.v).median, 3.5);
});

const seg = (id, letter, block, rps, cpu) => ({
  id,
  letter,
  label: id,
  round: 1,
  block,
  rps,
  p50_ms: 1000 / rps,
  p99_ms: 2000 / rps,
  requests: rps * 3,
  errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
  cpu: { cpu_ms_per_req: cpu, cpu_ms_per_req_by_role: { "workerd (Workers)": cpu }, server_cpu_pct: 95, other_cpu_pct: 10 },
});

test("table.mjs: the own-cost line is the median of the blocks' pairs, not the ratio of the rows' medians", () => {
  // (e) swings between blocks and (c) follows it within each block: the pairs say 90-98%, median
  // 96.5% (met), while the ratio of the rows' medians, 654 / 700, would say 93.4% (NOT met).
  const lines = [
    seg("forwarder", "e", 1, 1000, 1.0),
    seg("gateway", "c", 1, 960, 1.2),
    seg("forwarder", "e", 2, 500, 2.0),
    seg("gateway", "c", 2, 485, 2.2),
    seg("forwarder", "e", 3, 800, 1.5),
    seg("gateway", "c", 3, 720, 1.7),
    seg("forwarder", "e", 4, 600, 1.8),
    seg("gateway", "c", 4, 588, 2.0),
  ];
  const dir = mkdtempSync(join(tmpdir(), "paired-test-"));
  const file = join(dir, "results.jsonl");
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n"));
  const single = join(dir, "single.jsonl");
  writeFileSync(
    single,
    [
      { ...seg("forwarder", "e", 1, 400, 0), p50_ms: 2.0 },
      { ...seg("gateway", "c", 1, 300, 0), p50_ms: 2.4 },
      { ...seg("gateway", "c", 2, 300, 0), p50_ms: 3.9 },
      { ...seg("forwarder", "e", 2, 400, 0), p50_ms: 3.5 },
      // (e) alone in block 3: no pair
      { ...seg("forwarder", "e", 3, 400, 0), p50_ms: 0.5 },
    ]
      .map((l) => JSON.stringify(l))
      .join("\n"),
  );
  const table = fileURLToPath(new URL("./table.mjs", import.meta.url));
  const out = execFileSync(process.execPath, [table, file, "forwarder", "forwarder:gateway:own", "15", "settings", single, "50"], {
    encoding: "utf8",
    env: { ...process.env, BENCH_ROWS: "c,e" },
  });
  assert.match(
    out,
    /gateway's own cost: \(c\) runs at 96\.5% of \(e\)'s throughput \(goal >= 95%: met; median of 4 pairs, range 90\.0% to 98\.0%, middle half 96\.0% to 97\.0%\); \+0\.200 ms of server CPU per request \(goal <= 0\.3 ms: met; median of 4 pairs, range 0\.200 ms to 0\.200 ms/,
  );
  // The rows table keeps the medians over the segments: (e) (600+800)/2 = 700 req/s, (c) 654.
  assert.match(out, /\| \(e\) forwarder \| 700 \|/);
  assert.match(out, /\| \(c\) gateway \| 654 \|/);
  assert.match(out, /gateway's own latency: \(c\) p50 is 0\.40 ms above \(e\) \(goal <= 0\.5 ms: met; median of 2 pairs, range 0\.40 ms to 0\.40 ms\)/);
});
