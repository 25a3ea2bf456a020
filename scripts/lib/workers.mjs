// The platform's Workers, found on disk: every workers/<dir>/wrangler.toml. The dev, test, migrate
// and deploy scripts and the gateway's test config read this list instead of naming the Workers,
// so a service added by `npm run new-service` is picked up without editing any of them.
//
// As a command (for the bash scripts): node scripts/lib/workers.mjs <what>
//   dirs          every Worker's folder name, in deploy order (logic services first, the gateway last)
//   services      the logic services' folder names (every Worker but the gateway, the sites and the internal ones), in deploy order
//   internal      the internal Workers' folder names (no database, no assets: workers/credentials), in deploy order
//   databases     folder names of the Workers with a D1 database bound as DB, in deploy order
//   configs       the -c arguments for `wrangler dev`, the gateway's first (it serves the port)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const GATEWAY_DIR = "gateway";

/**
 * @typedef {{ binding: string, database_name: string, database_id?: string, preview_database_id?: string, migrations_dir?: string }} D1Binding
 * @typedef {{ binding: string, service: string, entrypoint?: string }} ServiceBinding
 * @typedef {{
 *   dir: string, path: string, configPath: string, name: string, gateway: boolean, site: boolean, internal: boolean,
 *   config: Record<string, any>, d1: D1Binding[], r2: { binding: string, bucket_name: string }[],
 *   services: ServiceBinding[], durableObjects: { name: string, class_name: string, script_name?: string }[],
 *   sqliteClasses: string[], vars: Record<string, unknown>,
 * }} WorkerInfo
 */

/** @returns {WorkerInfo} */
export function readWorker(root, dir) {
  const configPath = path.join(root, "workers", dir, "wrangler.toml");
  let config;
  try {
    config = parse(readFileSync(configPath, "utf8"));
  } catch (err) {
    throw new Error(`workers/${dir}/wrangler.toml does not parse: ${err instanceof Error ? err.message : err}`);
  }
  if (typeof config.name !== "string") throw new Error(`workers/${dir}/wrangler.toml has no name`);
  return {
    dir,
    path: path.join(root, "workers", dir),
    configPath,
    name: config.name,
    gateway: dir === GATEWAY_DIR,
    // A site (workers/console) serves built files ([assets]) and has no database: the gateway
    // forwards pages to it, it is no logic service (no registry entry, no RPC, no migrations).
    site: dir !== GATEWAY_DIR && Boolean(config.assets) && !(config.d1_databases ?? []).length,
    // An internal Worker (workers/credentials) has neither a database nor assets: code the gateway
    // calls over RPC off the request path (its own [[services]] binding). No logic service either:
    // no registry entry, no OpenAPI, no mesh, no migrations.
    internal: dir !== GATEWAY_DIR && !config.assets && !(config.d1_databases ?? []).length,
    config,
    d1: config.d1_databases ?? [],
    r2: config.r2_buckets ?? [],
    services: config.services ?? [],
    durableObjects: config.durable_objects?.bindings ?? [],
    sqliteClasses: (config.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []),
    vars: config.vars ?? {},
  };
}

/**
 * Every Worker under workers/, ordered so that each comes after the Workers its service
 * bindings reach (logic services first, the gateway last); ties by folder name.
 * @returns {WorkerInfo[]}
 */
export function discoverWorkers(root = ROOT) {
  const base = path.join(root, "workers");
  const dirs = readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(base, d.name, "wrangler.toml")))
    .map((d) => d.name)
    .sort();
  return deployOrder(dirs.map((d) => readWorker(root, d)));
}

/** Topological order over service bindings to other Workers of the repository. */
export function deployOrder(workers) {
  const byScript = new Map(workers.map((w) => [w.name, w]));
  const done = new Set();
  const visiting = new Set();
  const out = [];
  const visit = (w, chain) => {
    if (done.has(w.name)) return;
    if (visiting.has(w.name)) throw new Error(`service bindings form a cycle: ${[...chain, w.name].join(" -> ")}`);
    visiting.add(w.name);
    for (const s of w.services) {
      const target = byScript.get(s.service);
      if (target && target !== w) visit(target, [...chain, w.name]);
    }
    visiting.delete(w.name);
    done.add(w.name);
    out.push(w);
  };
  // The gateway last among equals: it binds every service, so it is last anyway once registered.
  for (const w of [...workers].sort((a, b) => Number(a.gateway) - Number(b.gateway))) visit(w, []);
  return out;
}

/** A logic service: neither the gateway, nor a site, nor an internal Worker. */
export const isLogicService = (w) => !w.gateway && !w.site && !w.internal;

/** The internal Workers (no database, no assets), with the binding and entrypoint the gateway gives them. */
export function internalWorkers(root = ROOT) {
  const workers = discoverWorkers(root);
  const gateway = workers.find((w) => w.gateway);
  return workers
    .filter((w) => w.internal)
    .map((w) => {
      const binding = gateway?.services.find((s) => s.service === w.name);
      return { ...w, binding: binding?.binding, entrypoint: binding?.entrypoint };
    });
}

/** The logic services as the gateway's test config needs them (its bindings give the entrypoints). */
export function logicServices(root = ROOT) {
  const workers = discoverWorkers(root);
  const gateway = workers.find((w) => w.gateway);
  return workers.filter(isLogicService).map((w) => {
    const binding = gateway?.services.find((s) => s.service === w.name);
    return { ...w, binding: binding?.binding, entrypoint: binding?.entrypoint };
  });
}

/** The gateway's service registry, as its wrangler.toml declares it ([[vars.SERVICES]]). */
export function gatewayRegistry(root = ROOT) {
  return /** @type {Record<string, any>[]} */ (readWorker(root, GATEWAY_DIR).vars.SERVICES ?? []);
}

function main(what) {
  const workers = discoverWorkers();
  const lines = {
    dirs: () => workers.map((w) => w.dir),
    services: () => workers.filter(isLogicService).map((w) => w.dir),
    internal: () => workers.filter((w) => w.internal).map((w) => w.dir),
    databases: () => workers.filter((w) => w.d1.some((d) => d.binding === "DB")).map((w) => w.dir),
    configs: () => [...workers].sort((a, b) => Number(b.gateway) - Number(a.gateway)).flatMap((w) => ["-c", path.relative(ROOT, w.configPath)]),
  }[what];
  if (!lines) {
    console.error(`usage: node scripts/lib/workers.mjs dirs|services|internal|databases|configs (not "${what}")`);
    process.exit(2);
  }
  console.log(lines().join("\n"));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv[2]);
