// Where a Worker's start-up goes: builds the Worker unminified (`wrangler deploy --dry-run
// --outfile`, so functions keep their names), profiles its start-up with `wrangler check startup
// --worker` STARTUP_ROUNDS times (3) and sums the profiles' samples (about 1 ms apart, so one run
// says little; several summed give shares) by package or source file (from the bundle's
// `// path` comments, which esbuild writes before every module) and by function, self and
// inclusive. Start-up CPU in the table of bench/startup.mjs is the minified bundle's; this one is
// a little slower (a larger bundle to parse), read its shares, not its milliseconds.
//
//   node bench/startup-profile.mjs <worker> [--top N] [--keep DIR]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleModules } from "./lib/bundle-modules.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 3);
const args = process.argv.slice(2);
const name = args[0];
const top = args.includes("--top") ? Number(args[args.indexOf("--top") + 1]) : 20;
const keep = args.includes("--keep") ? args[args.indexOf("--keep") + 1] : undefined;
if (!name) {
  console.error("usage: node bench/startup-profile.mjs <worker> [--top N] [--keep DIR]");
  process.exit(2);
}
const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
const dir = join(ROOT, "workers", name);
const work = keep ?? mkdtempSync(join(tmpdir(), "buildly-startup-profile-"));
const env = { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" };
const bundleFile = join(work, `${name}.bundle`);
const outdir = join(work, `${name}-dist`);
// One build writes both: the upload bundle `check startup` profiles, and its modules with their comments.
execFileSync(wrangler, ["deploy", "--dry-run", "--no-minify", "--outfile", bundleFile, "--outdir", outdir], {
  cwd: dir,
  env,
  stdio: "ignore",
});
const modules = bundleModules(join(outdir, "index.js"));
const moduleAt = (line) => modules.at(line) ?? "(bundle's own top level)";
const groupOf = (m) => {
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(m);
  if (pkg) return pkg[1];
  return m.replace(/^(\.\.\/)+/, "");
};

const self = new Map();
const fns = new Map();
const incl = new Map();
let active = 0;
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
for (let r = 0; r < ROUNDS; r++) {
  const file = join(work, `${name}-${r}.cpuprofile`);
  execFileSync(wrangler, ["check", "startup", "--worker", bundleFile, "--outfile", file], { cwd: dir, env, stdio: "ignore" });
  const p = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (cf) => {
    const inBundle = cf.url.endsWith("index.js");
    return { where: inBundle ? groupOf(moduleAt(cf.lineNumber)) : "", fn: cf.functionName || "(anonymous)" };
  };
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i + 1] ?? 0; // the time until the next sample is this sample's
    const cf = byId.get(id).callFrame;
    if (cf.functionName === "(idle)") return;
    active += us;
    const l = label(cf);
    add(self, l.where || cf.functionName, us);
    add(fns, `${l.fn} (${l.where || "runtime"})`, us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const c = label(byId.get(cur).callFrame);
      const key = `${c.fn} (${c.where || "runtime"})`;
      if (!seen.has(key)) {
        seen.add(key);
        add(incl, key, us);
      }
    }
  });
}
if (!keep) rmSync(work, { recursive: true, force: true });
const ms = (us) => (us / 1000 / ROUNDS).toFixed(1).padStart(6);
const pct = (us) => `${((100 * us) / active).toFixed(1).padStart(5)}%`;
const show = (title, map) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(v)} ms ${pct(v)}  ${k}`);
};
console.log(`${name}: ${ROUNDS} start-up profile(s), unminified; sampled active CPU ${ms(active).trim()} ms a run (mean)`);
show("self time by package or source file", self);
show("self time by function", fns);
show("inclusive time (with what it calls)", incl);
