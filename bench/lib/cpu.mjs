// CPU accounting from /proc, so a row can say where its CPU went and how busy the rest of
// the machine was (this box's cores are shared: a busy neighbour lowers every number).
//   node cpu.mjs snapshot <pgid>           -> JSON on stdout
//   node cpu.mjs diff <before> <after> <requests>  -> JSON: CPU ms per request by role, machine load
//   node cpu.mjs annotate <results.jsonl> <dir>    -> adds "cpu" to each line naming its snapshots
import { readFileSync, readdirSync, writeFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux (getconf CLK_TCK)

function roleOf(comm, cmdline, workerdCount) {
  if (comm === "workerd") {
    // wrangler dev runs two workerd: its proxy on the public port, and the Workers on port 0.
    // bench/lib/serve.mjs (Miniflare) runs one, holding the Workers.
    if (workerdCount === 1) return "workerd (Workers)";
    return /--socket-addr=entry=127\.0\.0\.1:0(\s|$)/.test(cmdline) ? "workerd (Workers)" : "workerd (wrangler proxy)";
  }
  if (comm === "node" || comm.startsWith("MainThread")) return /serve\.mjs/.test(cmdline) ? "Miniflare (Node)" : "wrangler (Node)";
  return comm;
}

function snapshot(pgid) {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const busy = total - cpu[3] - cpu[4];
  const procs = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // after the comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
      if (Number(f[2]) !== pgid) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      procs.push({ pid: Number(pid), comm, cmdline, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended while we read it
    }
  }
  const workerds = procs.filter((p) => p.comm === "workerd").length;
  return {
    at_ms: Date.now(),
    machine: { busy, total },
    procs: procs.map(({ pid, comm, cmdline, ticks }) => ({ pid, role: roleOf(comm, cmdline, workerds), ticks })),
  };
}

function diff(before, after, requests) {
  const seconds = (after.at_ms - before.at_ms) / 1000;
  const cores = after.machine.total - before.machine.total; // ticks of all cores together
  const byRole = {};
  let server = 0;
  for (const p of after.procs) {
    const was = before.procs.find((q) => q.pid === p.pid)?.ticks ?? 0;
    const ticks = p.ticks - was;
    byRole[p.role] = (byRole[p.role] ?? 0) + ticks;
    server += ticks;
  }
  const busy = after.machine.busy - before.machine.busy;
  const perReq = (ticks) => (requests > 0 ? (ticks * TICK_MS) / requests : NaN);
  return {
    cpu_ms_per_req: perReq(server),
    cpu_ms_per_req_by_role: Object.fromEntries(
      Object.entries(byRole)
        .filter(([, t]) => t > 0)
        .map(([r, t]) => [r, perReq(t)]),
    ),
    // in % of one core, like top: 200% is both cores of a 2-core machine
    server_cpu_pct: (100 * server * TICK_MS) / 1000 / seconds,
    other_cpu_pct: (100 * (busy - server) * TICK_MS) / 1000 / seconds,
    machine_cores_pct: cores > 0 ? (100 * busy) / cores : NaN,
  };
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "snapshot") {
  process.stdout.write(`${JSON.stringify(snapshot(Number(args[0])))}\n`);
} else if (cmd === "diff") {
  const [a, b, requests] = args;
  const read = (f) => JSON.parse(readFileSync(f, "utf8"));
  process.stdout.write(`${JSON.stringify(diff(read(a), read(b), Number(requests)))}\n`);
} else if (cmd === "annotate") {
  // Every line of a results file that names its snapshots ("cpu_n": n, for <dir>/cpu-<n>-before.json
  // and -after.json) gets its "cpu" from them, in one process instead of one per line.
  const [file, dir] = args;
  const read = (f) => JSON.parse(readFileSync(f, "utf8"));
  const out = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l);
      if (r.cpu_n === undefined) return l;
      const { cpu_n, ...rest } = r;
      return JSON.stringify({ ...rest, cpu: diff(read(`${dir}/cpu-${cpu_n}-before.json`), read(`${dir}/cpu-${cpu_n}-after.json`), r.requests) });
    });
  writeFileSync(file, `${out.join("\n")}\n`);
} else {
  console.error("usage: cpu.mjs snapshot <pgid> | diff <before.json> <after.json> <requests> | annotate <results.jsonl> <dir>");
  process.exit(2);
}
