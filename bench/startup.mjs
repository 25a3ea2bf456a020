// Bundles and start-up (npm run bench:startup): for every Worker under workers/, the size of the
// bundle `wrangler deploy` would upload (raw and gzip, as wrangler reports it: the modules, not
// the source map) and the CPU its module's top level costs when an isolate starts, from
// `wrangler check startup` (it builds the Worker as a deploy would and profiles the start-up
// phase in a local workerd; no account needed). Start-up is the "Active" time of that profile
// (sampled CPU less idle, garbage collection included), the median of STARTUP_ROUNDS runs (3).
// Prints a markdown table with the goals (every Worker under 1 MiB raw, start-up under 50 ms)
// and writes it to bench/results/startup.md. A Worker whose static assets are not built yet
// (the console: npm run deploy -- --dry-run builds them) is listed as not measured.
//
//   node bench/startup.mjs [worker ...]      (default: every workers/*/wrangler.toml)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 3);
const RAW_GOAL_KIB = 1024;
const STARTUP_GOAL_MS = 50;
const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");

const names = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(join(ROOT, "workers")).filter((w) => existsSync(join(ROOT, "workers", w, "wrangler.toml")));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const assetsDir = (dir) => {
  const m = /^\s*directory\s*=\s*"([^"]+)"/m.exec(readFileSync(join(dir, "wrangler.toml"), "utf8"));
  return m ? join(dir, m[1]) : undefined;
};

const work = mkdtempSync(join(tmpdir(), "buildly-startup-"));
const rows = [];
try {
  for (const name of names) {
    const dir = join(ROOT, "workers", name);
    const assets = assetsDir(dir);
    if (assets && !existsSync(assets)) {
      rows.push({ name, missing: `its assets (${assets.slice(ROOT.length + 1)}) are not built` });
      continue;
    }
    let raw;
    let gzip;
    const active = [];
    let empty = 0;
    // A profile with no sample at all (Active: 0 ms; seen with the console's tiny Worker) measured
    // nothing: it is taken again, at most ROUNDS more times, and the table says how many were.
    for (let i = 0; active.length < ROUNDS && i < 2 * ROUNDS; i++) {
      const out = execFileSync(wrangler, ["check", "startup", "--outfile", join(work, `${name}-${i}.cpuprofile`)], {
        cwd: dir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      });
      const size = /Bundle: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(out);
      const act = /Active: ([\d.]+) ms/.exec(out);
      if (!size || !act) throw new Error(`${name}: unexpected output of wrangler check startup:\n${out}`);
      raw = Number(size[1]);
      gzip = Number(size[2]);
      if (Number(act[1]) === 0) empty++;
      else active.push(Number(act[1]));
    }
    if (!active.length) throw new Error(`${name}: every start-up profile came back empty`);
    rows.push({ name, raw, gzip, startup: median(active), runs: active, empty });
    process.stderr.write(`  ${name}: ${raw} KiB raw, ${gzip} KiB gzip, start-up ${active.join(" / ")} ms\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const fmt = (n, d = 1) => n.toFixed(d);
const lines = [
  "| Worker | bundle raw KiB | gzip KiB | start-up CPU ms (median) | runs ms |",
  "| ------ | -------------: | -------: | -----------------------: | ------- |",
];
for (const r of rows) {
  if (r.missing) lines.push(`| ${r.name} | - | - | - | not measured: ${r.missing} |`);
  else
    lines.push(
      `| ${r.name} | ${fmt(r.raw)} | ${fmt(r.gzip)} | ${fmt(r.startup)} | ${r.runs.map((x) => fmt(x)).join(" / ")}${r.empty ? ` (${r.empty} empty profile(s) taken again)` : ""} |`,
    );
}
const measured = rows.filter((r) => !r.missing);
const big = measured.filter((r) => r.raw >= RAW_GOAL_KIB);
const slow = measured.filter((r) => r.startup >= STARTUP_GOAL_MS);
lines.push(
  "",
  `bundles: every Worker under ${RAW_GOAL_KIB} KiB raw (goal): ${big.length ? `NOT met (${big.map((r) => `${r.name} ${fmt(r.raw)} KiB`).join(", ")})` : "met"}`,
  `start-up: every Worker under ${STARTUP_GOAL_MS} ms of CPU (goal): ${slow.length ? `NOT met (${slow.map((r) => `${r.name} ${fmt(r.startup)} ms`).join(", ")})` : "met"}`,
  "",
  `wrangler check startup, ${ROUNDS} run(s) a Worker (median), on this machine's ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores; start-up includes garbage collection and is sampled (about 1 ms a sample), so a few ms either way is noise. ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}.`,
);
const table = `${lines.join("\n")}\n`;
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "startup.md"), table);
process.stdout.write(`\n${table}(written to bench/results/startup.md)\n`);
if (big.length || slow.length) process.exitCode = 3;
