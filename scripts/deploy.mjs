// npm run deploy [-- --dry-run]: every Worker under workers/ to Cloudflare, in the order their
// service bindings need (logic services first, the gateway last). First, before any Worker: every
// queue a Worker's wrangler.toml names (producers, consumers, dead-letter queues) is created if the
// account does not have it yet (`wrangler queues list`, `wrangler queues create <name>`). Then for
// each Worker: its D1 migrations (`wrangler d1 migrations apply <database> --remote`), then
// `wrangler deploy`. Stops at the first failure and says which step of which Worker failed.
//
// --dry-run needs no account: `wrangler deploy --dry-run --outdir dist` (the bundles the
// gateway's tests run); the queues it would check and create and the migrations it would apply
// are listed instead.
// Run through scripts/deploy.sh, which installs the toolchain first.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { discoverWorkers, ROOT } from "./lib/workers.mjs";

const args = process.argv.slice(2);
const dryRun = args.includes("--dry-run");

class StepFailed extends Error {}

/** Runs wrangler in the Worker's folder; output is shown only when it fails (or `show`). */
function wrangler(worker, argv, what, show = false) {
  const res = spawnSync("wrangler", argv, { cwd: worker.path, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" } });
  const output = `${res.stdout ?? ""}${res.stderr ?? ""}`;
  if (res.error || res.status !== 0) {
    process.stderr.write(output);
    if (res.error) process.stderr.write(`${res.error.message}\n`);
    throw new StepFailed(`${what} failed for workers/${worker.dir} (wrangler ${argv.join(" ")}, in workers/${worker.dir})`);
  }
  if (show) process.stdout.write(output);
  return output;
}

/** The migration files of one D1 binding, in the order wrangler applies them. */
function migrationFiles(worker, d1) {
  const dir = path.join(worker.path, d1.migrations_dir ?? "migrations");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

function migrate(worker) {
  for (const d1 of worker.d1) {
    const files = migrationFiles(worker, d1);
    if (!files.length) continue;
    if (dryRun) {
      console.log(
        `  would apply the migrations of D1 ${d1.database_name} not yet applied remotely, from ${files.join(", ")} ` +
          `(wrangler d1 migrations apply ${d1.database_name} --remote)`,
      );
      continue;
    }
    console.log(`  migrating D1 ${d1.database_name} (remote)`);
    wrangler(worker, ["d1", "migrations", "apply", d1.database_name, "--remote"], `Migrating D1 ${d1.database_name}`, true);
  }
}

function deploy(worker) {
  if (dryRun) {
    const out = wrangler(worker, ["deploy", "--dry-run", "--outdir", "dist"], "The deploy dry run");
    const size = out.match(/Total Upload: .*/)?.[0] ?? "bundle built";
    console.log(`  wrangler deploy --dry-run: ${size}`);
    return;
  }
  console.log(`  deploying ${worker.name}`);
  wrangler(worker, ["deploy"], "Deploying", true);
}

/**
 * The queues the Workers' configs name, each with who uses it:
 * [{ name, uses: ["gateway produces", "gateway consumes", ...] }], in the order first named.
 */
export function queuesOf(workers) {
  const byName = new Map();
  const add = (name, use) => {
    if (typeof name !== "string" || !name) return;
    if (!byName.has(name)) byName.set(name, { name, uses: [] });
    byName.get(name).uses.push(use);
  };
  for (const w of workers) {
    for (const p of w.config.queues?.producers ?? []) add(p.queue, `${w.dir} produces`);
    for (const c of w.config.queues?.consumers ?? []) {
      add(c.queue, `${w.dir} consumes`);
      add(c.dead_letter_queue, `${w.dir}'s dead letters`);
    }
  }
  return [...byName.values()];
}

/**
 * The queue names in one page of `wrangler queues list` (a table: a header row naming the
 * columns, then one row per queue; wrangler draws it with box characters).
 */
export function queueNamesInList(output) {
  const rows = output
    .split("\n")
    .filter((l) => l.includes("│"))
    .map((l) =>
      l
        .split("│")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  const column = rows.length ? rows[0].indexOf("name") : -1;
  if (column < 0) return [];
  return rows
    .slice(1)
    .map((r) => r[column])
    .filter(Boolean);
}

/** Every queue of the account, page by page until a page is empty (bounded). */
function existingQueues(worker) {
  const names = new Set();
  for (let page = 1; page <= 100; page++) {
    const found = queueNamesInList(wrangler(worker, ["queues", "list", "--page", String(page)], "Listing the account's queues"));
    const before = names.size;
    for (const n of found) names.add(n);
    if (!found.length || names.size === before) return names;
  }
  throw new StepFailed("Listing the account's queues failed: more than 100 pages (wrangler queues list --page)");
}

/** Creates the queues the Workers name that the account does not have yet, before any Worker is deployed. */
function ensureQueues(workers) {
  const queues = queuesOf(workers);
  if (!queues.length) return;
  // wrangler runs in a Worker's folder for its config's account_id, if one is set.
  const where = workers.at(-1);
  if (dryRun) {
    console.log(`== queues (wrangler queues list; wrangler queues create <name> for each one missing)`);
    for (const q of queues) console.log(`  would check ${q.name} (${q.uses.join(", ")}) and create it if the account does not have it`);
    return;
  }
  console.log("== queues");
  const existing = existingQueues(where);
  for (const q of queues) {
    if (existing.has(q.name)) {
      console.log(`  ${q.name}: exists (${q.uses.join(", ")})`);
      continue;
    }
    console.log(`  ${q.name}: creating (${q.uses.join(", ")})`);
    wrangler(where, ["queues", "create", q.name], `Creating the queue ${q.name}`, true);
  }
}

// Secrets each Worker reads that live in no file of the repo (locally: the Worker's .dev.vars).
const SECRETS = { gateway: ["SIGNING_KEYS_SECRET"] };

/**
 * What a real deploy needs beyond what the dry run proves (that every Worker builds): one line
 * each, derived from the Workers' wrangler.toml files.
 */
export function stillNeeded(workers) {
  const lines = [];
  for (const w of workers) {
    for (const d1 of w.d1.filter((d) => !d.database_id)) {
      lines.push(`workers/${w.dir}/wrangler.toml: a database_id for ${d1.database_name} (wrangler d1 create ${d1.database_name})`);
    }
    for (const r2 of w.r2) lines.push(`the R2 bucket ${r2.bucket_name} of workers/${w.dir} (wrangler r2 bucket create ${r2.bucket_name}, once)`);
    for (const s of SECRETS[w.dir] ?? []) lines.push(`the secret ${s} of workers/${w.dir} (cd workers/${w.dir} && wrangler secret put ${s})`);
    if ("ISSUER" in w.vars && !w.vars.ISSUER) lines.push(`workers/${w.dir}/wrangler.toml: ISSUER, the gateway's public origin (empty now)`);
  }
  lines.push("a Cloudflare login (npx wrangler login, or CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID); the queues are created by npm run deploy");
  return lines;
}

function main() {
  const unknown = args.filter((a) => a !== "--dry-run");
  if (unknown.length) {
    console.error(`deploy: unknown argument(s) ${unknown.join(" ")}; usage: npm run deploy [-- --dry-run]`);
    process.exit(2);
  }
  const workers = discoverWorkers(ROOT);

  // Before anything is deployed: every D1 must name its remote database (a half-deployed platform
  // because the third Worker's database was never created helps nobody).
  if (!dryRun) {
    const missing = workers.flatMap((w) => w.d1.filter((d1) => !d1.database_id).map((d1) => ({ w, d1 })));
    if (missing.length) {
      console.error("deploy stopped before deploying anything: these D1 bindings have no database_id.");
      for (const { w, d1 } of missing) {
        console.error(
          `  workers/${w.dir}/wrangler.toml, binding ${d1.binding}: run \`wrangler d1 create ${d1.database_name}\` and put the database_id it prints into that [[d1_databases]] entry`,
        );
      }
      process.exit(1);
    }
  }
  console.log(`${dryRun ? "dry run: " : ""}deploying ${workers.length} Workers in binding order: ${workers.map((w) => w.dir).join(", ")}`);
  let current;
  try {
    ensureQueues(workers);
    for (const worker of workers) {
      current = worker;
      console.log(`== ${worker.dir} (${worker.name})`);
      migrate(worker);
      deploy(worker);
    }
  } catch (err) {
    const message = err instanceof StepFailed ? err.message : `workers/${current?.dir}: ${err instanceof Error ? err.message : err}`;
    const left = workers.slice(workers.indexOf(current) + 1).map((w) => w.dir);
    console.error(`\ndeploy stopped: ${message}`);
    if (left.length) console.error(`not deployed: ${left.join(", ")}`);
    process.exit(1);
  }
  if (!dryRun) return console.log("deployed every Worker.");
  console.log("dry run done: every Worker builds; nothing was deployed. A real deploy (docs/deploying.md) still needs:");
  for (const line of stillNeeded(workers)) console.log(`  - ${line}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
