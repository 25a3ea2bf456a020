// Serves Workers for the benchmark straight from Miniflare (one workerd process), built from
// the same wrangler configs `npm run dev` uses, but without wrangler's dev proxy in front and
// without forwarding log lines through a Node process: what is left is workerd and our code.
//
//   node bench/lib/serve.mjs --persist DIR --port PORT [--socket NAME=PORT ...]
//        [--var NAME=VALUE ...] [--inspector-port PORT] CONFIG [CONFIG ...]
//
// The first config is the entry Worker, served on PORT by a socket of its own (not through
// Miniflare's entry Worker); --socket gives any Worker of the set a port of its own. Each Worker runs its bundle from `<config dir>/dist/index.js`, which
// `wrangler deploy --dry-run --outdir dist` writes (scripts/bench.sh builds them first). --var
// overrides a var of the entry Worker (JSON values are parsed); .dev.vars beside a config is
// read for secrets. State lives in DIR/v3, the layout `wrangler dev --persist-to DIR` uses, so
// scripts/migrate.sh prepares it. Prints "ready <port>" once serving; stops on SIGTERM/SIGINT.
import childProcess from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

const args = process.argv.slice(2);
const configs = [];
const sockets = new Map();
const vars = {};
let persist;
let port = 0;
let inspectorPort;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--persist") persist = resolve(args[++i]);
  else if (a === "--port") port = Number(args[++i]);
  else if (a === "--inspector-port") inspectorPort = Number(args[++i]);
  else if (a === "--socket") {
    const [name, p] = args[++i].split("=");
    sockets.set(name, Number(p));
  } else if (a === "--var") {
    const [name, ...rest] = args[++i].split("=");
    const value = rest.join("=");
    try {
      vars[name] = JSON.parse(value);
    } catch {
      vars[name] = value;
    }
  } else configs.push(resolve(a));
}
if (!persist || !port || configs.length === 0) {
  console.error("usage: serve.mjs --persist DIR --port PORT [--socket NAME=PORT] [--var NAME=VALUE] CONFIG...");
  process.exit(2);
}

function devVars(dir) {
  const file = join(dir, ".dev.vars");
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#") && l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

const workers = configs.map((config, index) => {
  const dir = dirname(config);
  const { name } = unstable_readConfig({ config });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const script = join(dir, "dist", "index.js");
  if (!existsSync(script)) throw new Error(`${script} is missing: run wrangler deploy --dry-run --outdir dist there`);
  // The docs page's assets are not part of any benchmark; the API routes never touch them.
  delete workerOptions.assets;
  // A bundle from `wrangler deploy --dry-run` is one module; no rules are needed to find others.
  delete workerOptions.modulesRules;
  const options = {
    ...workerOptions,
    name,
    modules: true,
    modulesRoot: dirname(script),
    scriptPath: script,
    bindings: { ...workerOptions.bindings, ...devVars(dir), ...(index === 0 ? vars : {}) },
  };
  // The entry Worker answers on PORT itself, as any other Worker on its --socket: not through
  // Miniflare's own entry Worker (see below). Miniflare names a direct socket by its Worker's index
  // and entrypoint, so the entry Worker takes no --socket besides PORT (two would share a name).
  if (index === 0 && sockets.has(name)) throw new Error(`--socket ${name}: the first Worker is served on --port`);
  const own = index === 0 ? port : sockets.get(name);
  if (own) options.unsafeDirectSockets = [{ host: "127.0.0.1", port: own }];
  return options;
});

// A service binding to a Worker this set does not serve (the gateway's CONSOLE: no bench loads
// the console) would stop workerd from starting; such bindings are left out, and said so.
const served = new Set(workers.map((w) => w.name));
for (const w of workers) {
  for (const [binding, target] of Object.entries(w.serviceBindings ?? {})) {
    const name = typeof target === "string" ? target : target?.name;
    if (typeof name === "string" && !served.has(name)) {
      delete w.serviceBindings[binding];
      console.error(`serve.mjs: ${w.name}'s binding ${binding} left out (${name} is not served here)`);
    }
  }
}

// The Workers' log lines never reach this process: Miniflare always has workerd write them to its
// stdout as structured JSON and parses every line here, which cost this Node process 0.1-0.2 ms of
// CPU per logged request (counted in the benches' server CPU; production has no such process).
// workerd's stdout goes to /dev/null instead, for every Worker and row alike; Miniflare reads an
// empty stream in its place. stderr (start-up failures among them) still comes here, as before.
// SERVE_LOGS=1 keeps stdout and prints every line.
if (process.env.SERVE_LOGS !== "1") {
  const spawn = childProcess.spawn;
  childProcess.spawn = function spawnWorkerdQuietly(command, args, options) {
    if (!String(command).includes("workerd") || !Array.isArray(options?.stdio)) return spawn.call(this, command, args, options);
    const child = spawn.call(this, command, args, { ...options, stdio: options.stdio.map((s, fd) => (fd === 1 ? "ignore" : s)) });
    child.stdout = new PassThrough();
    return child;
  };
}

// Miniflare's own socket goes through its entry Worker, a JavaScript Worker of its own in front of
// ours (it builds the request's cf object, copies the request twice, parses its URL twice, calls
// our Worker over a service binding and looks at the answer for its error page): a Worker hop
// that production does not have, which cost every request 0.2-0.3 ms of CPU here (bench/README.md,
// "How the servers run"). So PORT is the entry Worker's own socket (above), as every --socket is,
// and Miniflare's socket takes any free port, unused.
// wrangler hands out Miniflare 4-shaped options; Miniflare 5 converts them.
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers,
    host: "127.0.0.1",
    port: 0,
    resourcePersistencePath: join(persist, "v3"),
    // workerd's DevTools inspector (bench/profile.mjs takes CPU profiles through it).
    ...(inspectorPort ? { inspectorPort } : {}),
    // No request log lines and no forwarding of the Workers' own log lines (SERVE_LOGS=1 prints
    // them, to see why a bench's setup failed; without it only stderr's lines come here).
    logRequests: false,
    handleStructuredLogs: process.env.SERVE_LOGS === "1" ? ({ level, message }) => console.error(`[${level}] ${message}`) : () => {},
  }),
);
await mf.ready;
console.log(`ready ${port}`);

const stop = async () => {
  await mf.dispose().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
