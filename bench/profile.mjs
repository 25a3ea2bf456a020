// A CPU profile of one Worker while a URL is loaded, taken through workerd's DevTools
// inspector (bench/lib/serve.mjs --inspector-port), and a summary of where the time went.
//
//   node bench/profile.mjs --inspector 127.0.0.1:PORT --worker NAME --url URL [--header "k: v"]
//        [--seconds 10] [--connections 4] [--out FILE.cpuprofile] [--top 25] [--bundle dist/index.js]
//        [--body JSON] (POSTs it as application/json instead of GETs; each "{n}" in it becomes a
//        number unique to the request, e.g. for a unique email); --url given more than once:
//        the requests go to each in turn (e.g. 100 workflow instances)
//
// Connects to ws://<inspector>/core:user:<NAME> (the Worker's isolate, with its Durable
// Objects), calls Profiler.start, sends requests with `connections` at a time for `seconds`,
// calls Profiler.stop, writes the profile (open it in Chrome DevTools > Performance, or
// speedscope) and prints the functions with the most self time and the most total time, and
// the share by package (our code, hono, zod, jose, drizzle, the runtime). bench/profile.sh
// starts a platform and runs this against the gateway's authenticated proxied read.
import { writeFileSync } from "node:fs";
import { bundleModules } from "./lib/bundle-modules.mjs";

const args = process.argv.slice(2);
const opt = { seconds: 10, connections: 4, top: 25, headers: {}, urls: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = () => args[++i];
  if (a === "--inspector") opt.inspector = v();
  else if (a === "--worker") opt.worker = v();
  else if (a === "--url") opt.urls.push(v());
  else if (a === "--header") {
    const h = v();
    opt.headers[h.slice(0, h.indexOf(":")).trim()] = h.slice(h.indexOf(":") + 1).trim();
  } else if (a === "--seconds") opt.seconds = Number(v());
  else if (a === "--connections") opt.connections = Number(v());
  else if (a === "--out") opt.out = v();
  else if (a === "--top") opt.top = Number(v());
  else if (a === "--bundle") opt.bundle = v();
  else if (a === "--body") opt.body = v();
}
opt.url = opt.urls.length > 1 ? `${opt.urls[0]} (and ${opt.urls.length - 1} more URLs in turn)` : opt.urls[0];
if (!opt.inspector || !opt.worker || !opt.url) {
  console.error("usage: profile.mjs --inspector HOST:PORT --worker NAME --url URL [--header 'k: v'] [--seconds N] [--out FILE]");
  process.exit(2);
}

// --- a minimal CDP client ---------------------------------------------------------------------
const ws = new WebSocket(`ws://${opt.inspector}/core:user:${opt.worker}`);
await new Promise((resolve, reject) => {
  ws.addEventListener("open", resolve, { once: true });
  ws.addEventListener("error", () => reject(new Error(`no inspector target core:user:${opt.worker} at ${opt.inspector}`)), { once: true });
});
let nextId = 1;
const waiting = new Map();
ws.addEventListener("message", (e) => {
  const msg = JSON.parse(String(e.data));
  const w = msg.id && waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  if (msg.error) w.reject(new Error(`${msg.error.message}`));
  else w.resolve(msg.result);
});
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });

// --- load ---------------------------------------------------------------------------------------
let sent = 0;
async function load(seconds) {
  const until = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: opt.connections }, async () => {
      while (Date.now() < until) {
        const res = await fetch(
          opt.urls[sent++ % opt.urls.length],
          opt.body === undefined
            ? { headers: opt.headers }
            : { method: "POST", headers: { ...opt.headers, "content-type": "application/json" }, body: opt.body.replaceAll("{n}", String(sent)) },
        );
        await res.arrayBuffer();
        if (res.ok) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed };
}

await load(1); // warm: caches filled, leases taken, code compiled
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 }); // µs
await send("Profiler.start");
const counts = await load(opt.seconds);
const { profile } = await send("Profiler.stop");
ws.close();
if (counts.failed) console.error(`${counts.failed} requests failed (non-2xx) during the profile`);
if (opt.out) writeFileSync(opt.out, JSON.stringify(profile));

// --- summary ------------------------------------------------------------------------------------
// Self time per node from the samples; total time = self + descendants (counted once per
// function on a path, so recursion does not count twice).
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
}
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// With --bundle, a bundle line is named by the source module esbuild's comments put above it.
const modules = opt.bundle ? bundleModules(opt.bundle) : { count: 0, at: () => undefined };
const moduleAt = (line) =>
  modules
    .at(line)
    ?.replace(/^(\.\.\/)+/, "")
    .replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, "");
const keyOf = (n) => {
  const f = n.callFrame;
  const file = f.url ? f.url.split("/").pop() : "";
  const where = file === "index.js" && modules.count ? `${moduleAt(f.lineNumber) ?? file}` : file ? `${file}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
};
/** Which package a frame's function comes from, by the bundle's module comments esbuild keeps. */
const special = new Set(["(program)", "(idle)", "(garbage collector)", "(root)"]);

const self = new Map();
const total = new Map();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  const k = keyOf(node);
  self.set(k, (self.get(k) ?? 0) + us);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const ck = keyOf(byId.get(cur));
    if (seen.has(ck)) continue;
    seen.add(ck);
    total.set(ck, (total.get(ck) ?? 0) + us);
  }
}
const busyUs = [...self.entries()].filter(([k]) => !special.has(k.split(" ")[0])).reduce((a, [, us]) => a + us, 0);
const requests = counts.ok + counts.failed;
const fmt = (us) => `${(us / 1000).toFixed(1)} ms`;
const pct = (us) => `${((100 * us) / busyUs).toFixed(1)}%`;
const perReq = (us) => `${(us / requests).toFixed(1)} µs`;

console.log(`# CPU profile of ${opt.worker}: ${opt.url}`);
console.log();
console.log(
  `${requests} requests in ${opt.seconds} s at ${opt.connections} at a time; sampled ${fmt(totalUs)}, of which ${fmt(busyUs)} in JavaScript and the runtime's calls from it (${perReq(busyUs)} per request); the rest idle or outside the isolate.`,
);
const table = (title, map) => {
  console.log();
  console.log(`## ${title}`);
  console.log();
  console.log("| function (bundle line) | ms | share of busy | µs per request |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [k, us] of [...map.entries()]
    .filter(([k]) => !special.has(k.split(" ")[0]))
    .sort((a, b) => b[1] - a[1])
    .slice(0, opt.top)) {
    console.log(`| \`${k}\` | ${(us / 1000).toFixed(1)} | ${pct(us)} | ${perReq(us)} |`);
  }
};
table("Most self time", self);
table("Most total time (self + what it calls)", total);
if (opt.out) console.log(`\n(profile written to ${opt.out}: open it in Chrome DevTools' Performance panel or https://speedscope.app)`);
