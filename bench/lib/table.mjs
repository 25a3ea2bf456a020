// Turns the scenario results (one JSON object a line, one line per measured segment) into the
// markdown report. The rows table shows each row's medians over its segments. A goal line compares
// two rows pair by pair: a line's `block` (or, without one, its `round`) says which segments were
// measured back to back, and the line is the median over those pairs, printed with its range and
// middle half (bench/lib/paired.mjs); a pair marked :ref compares the two rows' medians instead.
// Usage: node table.mjs <results.jsonl> <baseline id> <base:hop[:limit|:own|:mesh|:otel|:ref],...> <goal %> <settings line>
//        [<single.jsonl> <delay ms>]
// The first base:hop pair is the gateway hop cost the goal applies to; more pairs get a line each.
// single.jsonl holds the single-connection rows (ids crm-direct, gateway, forwarder, gateway-delay).
import { readFileSync } from "node:fs";
import { describe, median, paired } from "./paired.mjs";

const [file, baselineId, hopPairs, goalText, settings, singleFile, delayText] = process.argv.slice(2);
const goal = Number(goalText);
const lines = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l));

const errorCount = (r) => Object.values(r.errors ?? {}).reduce((a, b) => a + b, 0);

// One row per scenario id, in the order the scenarios ran.
const rows = [];
for (const id of [...new Set(lines.map((l) => l.id))]) {
  const runs = lines.filter((l) => l.id === id);
  const roles = [...new Set(runs.flatMap((r) => Object.keys(r.cpu?.cpu_ms_per_req_by_role ?? {})))];
  rows.push({
    id,
    letter: runs[0].letter,
    label: runs[0].label,
    rounds: runs.length,
    rps: median(runs.map((r) => r.rps)),
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
    cpu_ms: median(runs.map((r) => r.cpu?.cpu_ms_per_req)),
    by_role: roles.map((role) => [role, median(runs.map((r) => r.cpu?.cpu_ms_per_req_by_role?.[role] ?? 0))]),
    server_pct: median(runs.map((r) => r.cpu?.server_cpu_pct)),
    other_pct: median(runs.map((r) => r.cpu?.other_cpu_pct)),
    errors: runs.reduce((n, r) => n + errorCount(r), 0),
    error_detail: runs.map((r) => r.errors),
    requests: runs.reduce((n, r) => n + r.requests, 0),
  });
}
const byId = (id) => rows.find((r) => r.id === id);
const baseline = byId(baselineId);
const fmt = (n, digits) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

const out = [];
const bad = rows.filter((r) => r.errors > 0);
out.push(`| scenario | req/s | p50 ms | p99 ms | req/s as % of (${baseline?.letter ?? "?"}) | server CPU ms/req |`);
out.push("|---|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const pct = baseline ? (100 * r.rps) / baseline.rps : NaN;
  out.push(`| (${r.letter}) ${r.label} | ${fmt(r.rps, 0)} | ${fmt(r.p50_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${fmt(pct, 1)}% | ${fmt(r.cpu_ms, 3)} |`);
}
out.push("");
let sinkShown = false;
const cpuOf = (r) => r.cpu?.cpu_ms_per_req;
const pct = (n) => `${fmt(n, 1)}%`;
const ms = (n) => `${fmt(n, 3)} ms`;
const plus = (n) => (n >= 0 ? "+" : "") + fmt(n, 3);
hopPairs
  .split(",")
  .filter(Boolean)
  .forEach((pair, i) => {
    const [baseId, hopId, kind] = pair.split(":");
    const [base, hop] = [baseId, hopId].map(byId);
    if (!base || !hop) return;
    // Each figure from the pairs of segments measured back to back (their median, with its range
    // and middle half: `how`), or, for a :ref pair, from the two rows' medians (`fromRows`, the
    // same computation unless the rows name a field differently).
    const fig = (f, fromRows = f) => {
      if (kind === "ref") return { median: fromRows(base, hop), how: () => "" };
      const sp = paired(lines, baseId, hopId, f);
      return { median: sp.median, how: (format) => describe(sp, format) };
    };
    // When the servers are the bottleneck, throughput goes as 1 / CPU per request; that ratio is
    // disturbed less by other load on the machine than req/s is.
    const extraCpu = fig(
      (a, b) => cpuOf(b) - cpuOf(a),
      (a, b) => b.cpu_ms - a.cpu_ms,
    );
    const cpuCost = fig(
      (a, b) => 100 * (1 - cpuOf(a) / cpuOf(b)),
      (a, b) => 100 * (1 - a.cpu_ms / b.cpu_ms),
    );
    const share = fig((a, b) => (100 * b.rps) / a.rps);
    const verdict = (text, how, format) => {
      const h = how(format);
      return h ? `(${text}; ${h})` : `(${text})`;
    };
    const cpu = `${plus(extraCpu.median)} ms of server CPU per request, which alone would cost ${fmt(cpuCost.median, 1)}% of (${base.letter})'s throughput`;
    if (kind === "mesh") {
      // Issue 8's goal: a page with two relationships joined costs at most 2x the plain page, in
      // 1 + 2 calls to logic services (MESH_CALLS: the joined page's Server-Timing header).
      const ratio = fig((a, b) => a.rps / b.rps);
      const calls = (process.env.MESH_CALLS ?? "")
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean);
      out.push(
        `data mesh: the joined page (${hop.letter}) makes ${calls.length} service calls (goal 1 + 2: ${calls.length === 3 ? "met" : "NOT met"}: ` +
          `${calls.map((c) => c.replace(/;dur=[\d.]+/, "")).join(", ")}) and costs ${fmt(ratio.median, 2)}x the plain page (${base.letter}) ` +
          `${verdict(`goal <= 2x: ${ratio.median <= 2 ? "met" : "NOT met"}`, ratio.how, (n) => `${fmt(n, 2)}x`)}; ${cpu}`,
      );
      return;
    }
    if (kind === "own") {
      // Issue 11's goals: the gateway against a forwarder that does nothing but the RPC call.
      out.push(
        `gateway's own cost: (${hop.letter}) runs at ${fmt(share.median, 1)}% of (${base.letter})'s throughput ` +
          `${verdict(`goal >= 95%: ${share.median >= 95 ? "met" : "NOT met"}`, share.how, pct)}; ` +
          `${plus(extraCpu.median)} ms of server CPU per request ${verdict(`goal <= 0.3 ms: ${extraCpu.median <= 0.3 ? "met" : "NOT met"}`, extraCpu.how, ms)}`,
      );
      return;
    }
    if (kind === "otel") {
      // Issue 22: with an endpoint configured and sampling at 100%, what the gateway's spans,
      // metrics and exports cost; with none, (c) and (g) themselves are the "off" figures.
      const p50 = fig((a, b) => b.p50_ms - a.p50_ms);
      const sink = process.env.OTEL_SINK_STATS ? JSON.parse(process.env.OTEL_SINK_STATS) : undefined;
      const shownBefore = sinkShown;
      sinkShown = true;
      const h = share.how(pct);
      out.push(
        `OTLP export on, sampling 100% (the gateway only): (${hop.letter}) runs at ${fmt(share.median, 1)}% of (${base.letter})'s throughput${h ? ` (${h})` : ""}, ` +
          `p50 ${fmt(p50.median, 2)} ms above (${base.letter})'s; ${cpu}` +
          (sink && !shownBefore
            ? `\nOTLP sink: ${sink.trace_posts} trace exports (${sink.spans} spans), ${sink.metric_posts} metric exports, ${sink.malformed} malformed, over the export-on platform's whole run`
            : ""),
      );
      return;
    }
    if (kind === "limit") {
      // Issue 5's goal: with limiting on, at least 85% of the throughput with it off.
      out.push(
        `rate limiting cost: (${hop.letter}) runs at ${fmt(share.median, 1)}% of (${base.letter})'s throughput ` +
          `${verdict(`goal >= 85%: ${share.median >= 85 ? "met" : "NOT met"}`, share.how, pct)}; ${cpu}`,
      );
      return;
    }
    const cost = fig((a, b) => (100 * (a.rps - b.rps)) / a.rps);
    const note = kind === "ref" ? ` (from the rows' medians: (${hop.letter}) is a reference row, measured on its own)` : "";
    out.push(
      i === 0
        ? `gateway hop cost: ${fmt(cost.median, 1)}% of (${base.letter})'s throughput ${verdict(`goal <= ${goal}%: ${cost.median <= goal ? "met" : "NOT met"}`, cost.how, pct)}; ${cpu}`
        : `gateway hop cost, (${hop.letter}) against (${base.letter}): ${fmt(cost.median, 1)}% of (${base.letter})'s throughput${note}; ${cpu}`,
    );
  });
if (singleFile) {
  const single = readFileSync(singleFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const srows = [...new Set(single.map((l) => l.id))].map((id) => {
    const runs = single.filter((l) => l.id === id);
    return {
      id,
      letter: runs[0].letter,
      label: runs[0].label,
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50_ms)),
      p99: median(runs.map((r) => r.p99_ms)),
      errors: runs.reduce((n, r) => n + errorCount(r), 0),
    };
  });
  const s = (id) => srows.find((r) => r.id === id);
  out.push("");
  out.push("One connection, one request at a time (what a request costs when nothing queues):");
  out.push("");
  out.push("| scenario | p50 ms | p99 ms | req/s |");
  out.push("|---|---:|---:|---:|");
  for (const r of srows) out.push(`| (${r.letter}) ${r.label} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rps, 0)} |`);
  out.push("");
  const [gw, fw, delayed] = [s("gateway"), s("forwarder"), s("gateway-delay")];
  // Paired like the goal lines above: the single-connection rows run in blocks too.
  const oneMs = (n) => `${fmt(n, 2)} ms`;
  if (gw && fw) {
    const added = paired(single, "forwarder", "gateway", (e, c) => c.p50_ms - e.p50_ms);
    out.push(
      `gateway's own latency: (c) p50 is ${fmt(added.median, 2)} ms above (e) ` +
        `(goal <= 0.5 ms: ${added.median <= 0.5 ? "met" : "NOT met"}; ${describe(added, oneMs)})`,
    );
  }
  if (gw && delayed) {
    const added = paired(single, "gateway", "gateway-delay", (c, d) => d.p50_ms - c.p50_ms);
    const p99 = paired(single, "gateway", "gateway-delay", (c, d) => d.p99_ms - c.p99_ms);
    out.push(
      `far from the data: with ${delayText} ms added to every D1 and Durable Object call the gateway makes, (c)'s p50 grows by ${fmt(added.median, 2)} ms ` +
        `(goal < 5 ms: ${added.median < 5 ? "met" : "NOT met"}; ${describe(added, oneMs)}); the p99 by ${fmt(p99.median, 2)} ms`,
    );
  }
  const delayAsked = !process.env.BENCH_ROWS || process.env.BENCH_ROWS.split(",").includes("c+delay");
  if (gw && !delayed && delayAsked)
    out.push(`far from the data: NOT RUN (the delayed platform gave no token or contact; see the bench's output) (goal < 5 ms: NOT met)`);
  for (const r of srows.filter((x) => x.errors > 0)) {
    out.push(`WARNING: (${r.letter}) single-connection run had ${r.errors} failed requests.`);
    bad.push(r);
  }
}
out.push("");
out.push("Where the server CPU went (ms per request), and what the rest of the machine (load generator included) used meanwhile:");
out.push("");
for (const r of rows) {
  const parts = r.by_role.sort((a, b) => b[1] - a[1]).map(([role, ms]) => `${role} ${fmt(ms, 3)}`);
  out.push(`- (${r.letter}) ${parts.join(", ") || "n/a"}; servers ${fmt(r.server_pct, 0)}% of a core, rest of the machine ${fmt(r.other_pct, 0)}%`);
}
out.push("");
out.push(settings);
const busy = rows.filter((r) => r.other_pct > 60);
if (busy.length > 0) {
  out.push("");
  out.push(
    `WARNING: other processes competed for the CPU during ${busy.map((r) => `(${r.letter})`).join(" ")} ` +
      "(the rest of the machine used more than 60% of a core; the load generator alone needs far less): " +
      "throughput and latency are unreliable, compare the CPU ms/req column or run again on a quiet machine (BENCH_ROUNDS=3 for medians).",
  );
}
for (const r of bad.filter((x) => x.requests !== undefined)) {
  out.push("");
  out.push(
    `WARNING: (${r.letter}) had ${r.errors} failed requests of ${r.requests}, so its numbers do not describe successful reads: ${JSON.stringify(r.error_detail)}`,
  );
}
process.stdout.write(`${out.join("\n")}\n`);
process.exitCode = bad.length > 0 ? 3 : 0;
