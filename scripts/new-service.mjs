// npm run new-service -- <name>: a new logic service in workers/<name>/, from templates/service/,
// registered with the gateway. Guide: docs/adding-a-service.md.
//
// 1. checks the name (lower-case letters, digits and single hyphens, starting with a letter; not a
//    path segment the gateway serves itself; not an existing Worker, registry entry or binding);
// 2. copies templates/service/ with the placeholders filled in (never over an existing folder);
// 3. adds a [[vars.SERVICES]] registry entry and a [[services]] binding to
//    workers/gateway/wrangler.toml, as text after the last entry of each kind (comments and
//    layout stay), and checks the result parses to exactly the old config plus those two;
// 4. links the new workspace package (pnpm install, offline when it can), regenerates the env
//    types (scripts/types.sh) and formats the new folder (Biome).
// Everything else (dev, test, migrate, deploy, the gateway's tests, the OpenAPI document) finds
// workers/*/wrangler.toml on its own. On any failure the folder and the gateway's config are
// put back as they were.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";
import { ROOT, discoverWorkers } from "./lib/workers.mjs";

const TEMPLATE = path.join(ROOT, "templates", "service");
const GATEWAY_TOML = path.join(ROOT, "workers", "gateway", "wrangler.toml");
const REGISTRY_TS = path.join(ROOT, "workers", "gateway", "src", "upstream", "registry.ts");
/** What is left of a placeholder: __name__, or __TITLE__ after Markdown formatting (**TITLE**). */
const PLACEHOLDER = /__[A-Za-z]+__|\*\*[A-Z]+\*\*/;
const PNPM = ["-y", `pnpm@${process.env.PNPM_VERSION ?? "10.34.9"}`];

function fail(message) {
  console.error(`new-service: ${message}`);
  process.exit(1);
}

/** The gateway's own /v1/ segments, read from the one list the gateway checks its registry against. */
function reservedNames() {
  const source = readFileSync(REGISTRY_TS, "utf8");
  const list = source.match(/export const RESERVED_NAMES\s*=\s*\[([^\]]*)\]/);
  if (!list) throw new Error(`RESERVED_NAMES not found in ${path.relative(ROOT, REGISTRY_TS)}`);
  return [...list[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

export function namesFor(name) {
  const words = name.split("-");
  const pascal = words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  return {
    __service__: name,
    __SERVICE__: name.toUpperCase().replaceAll("-", "_"),
    __Service__: pascal,
    __TITLE__: words.map((w, i) => (i === 0 ? w[0].toUpperCase() + w.slice(1) : w)).join(" "),
  };
}

/** Why `name` cannot be a new service, or null. */
export function nameProblem(name, gatewayConfig, workers, reserved) {
  if (typeof name !== "string" || name === "") return "give the service's name: npm run new-service -- <name>";
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
    return `"${name}" is not a valid name: lower-case letters, digits and single hyphens, starting with a letter (e.g. "inventory", "work-orders")`;
  }
  if (name.length > 40) return `"${name}" is longer than 40 characters`;
  if (reserved.includes(name)) return `"${name}" is a path the gateway serves itself (/v1/${name}); reserved: ${reserved.join(", ")}`;
  if (["gateway", "shared"].includes(name)) return `"${name}" is the name of a part of the platform`;
  const existing = workers.find((w) => w.dir === name || w.name === `buildly-${name}`);
  if (existing) return `workers/${existing.dir} already exists (${existing.name}); nothing was changed`;
  if (existsSync(path.join(ROOT, "workers", name))) return `workers/${name} already exists; nothing was changed`;
  const { __SERVICE__: binding } = namesFor(name);
  const registry = gatewayConfig.vars?.SERVICES ?? [];
  if (registry.some((e) => e.name === name)) return `the gateway's registry already lists "${name}"`;
  const bindings = [
    ...(gatewayConfig.services ?? []).map((s) => s.binding),
    ...(gatewayConfig.d1_databases ?? []).map((d) => d.binding),
    ...(gatewayConfig.durable_objects?.bindings ?? []).map((d) => d.name),
    ...(gatewayConfig.r2_buckets ?? []).map((d) => d.binding),
    ...(gatewayConfig.queues?.producers ?? []).map((d) => d.binding),
    ...Object.keys(gatewayConfig.vars ?? {}),
    gatewayConfig.assets?.binding,
  ].filter(Boolean);
  if (bindings.includes(binding)) return `the gateway already has a binding or variable named ${binding}; choose another name`;
  return null;
}

/**
 * Inserts `block` right after the last table headed `header` (its key lines, not the comments or
 * blank lines that follow it). Tables of one array are contiguous in our files, so appending
 * after the last keeps the new one with its kind.
 */
export function insertAfterLast(text, header, block) {
  const lines = text.split("\n");
  const starts = lines.flatMap((l, i) => (l.trim() === header ? [i] : []));
  if (!starts.length) throw new Error(`no ${header} table in workers/gateway/wrangler.toml`);
  let end = starts.at(-1);
  for (let i = end + 1; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t.startsWith("[")) break;
    if (t !== "" && !t.startsWith("#")) end = i;
  }
  lines.splice(end + 1, 0, "", ...block);
  return lines.join("\n");
}

export function registerWithGateway(text, names) {
  const { __service__: name, __SERVICE__: binding, __Service__: pascal, __TITLE__: title } = names;
  let out = insertAfterLast(text, "[[vars.SERVICES]]", [
    "[[vars.SERVICES]]",
    `name = "${name}"`,
    `binding = "${binding}"`,
    'version = "v1"',
    `title = "${title}"`,
    'openapi = "/openapi.json"',
    "timeout_ms = 10000",
    "max_body_bytes = 1048576",
  ]);
  out = insertAfterLast(out, "[[services]]", ["[[services]]", `binding = "${binding}"`, `service = "buildly-${name}"`, `entrypoint = "${pascal}Service"`]);
  // The edit must add exactly these two entries and change nothing else.
  const before = parse(text);
  const after = parse(out);
  const entry = after.vars.SERVICES.at(-1);
  const bound = after.services.at(-1);
  const expected = structuredClone(before);
  expected.vars.SERVICES.push(entry);
  expected.services.push(bound);
  if (entry.name !== name || bound.binding !== binding || JSON.stringify(expected) !== JSON.stringify(after)) {
    throw new Error("editing workers/gateway/wrangler.toml went wrong (the result is not the old config plus the new entries)");
  }
  return out;
}

function fill(text, names) {
  return Object.entries(names).reduce((t, [token, value]) => t.replaceAll(token, value), text);
}

/** Every file under dir, relative paths. */
function files(dir, base = dir) {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? files(full, base) : [path.relative(base, full)];
  });
}

function run(command, args, what) {
  const res = spawnSync(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (res.status !== 0) {
    process.stderr.write(`${res.stdout ?? ""}${res.stderr ?? ""}`);
    throw new Error(`${what} failed (${command} ${args.join(" ")})`);
  }
}

function main() {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  if (args.length !== 1) fail("usage: npm run new-service -- <name>");
  const name = args[0];
  const gatewayText = readFileSync(GATEWAY_TOML, "utf8");
  const problem = nameProblem(name, parse(gatewayText), discoverWorkers(ROOT), reservedNames());
  if (problem) fail(problem);

  const names = namesFor(name);
  const target = path.join(ROOT, "workers", name);
  const lockfile = path.join(ROOT, "pnpm-lock.yaml");
  const lockText = readFileSync(lockfile, "utf8");
  try {
    console.log(`creating workers/${name} from templates/service`);
    cpSync(TEMPLATE, target, { recursive: true, errorOnExist: true, force: false });
    for (const f of files(target)) {
      const full = path.join(target, f);
      const text = fill(readFileSync(full, "utf8"), names);
      // A placeholder the fill missed (e.g. one a formatter rewrote in the template) is a broken template.
      const left = text.match(PLACEHOLDER);
      if (left) throw new Error(`templates/service/${f} holds "${left[0]}", which is not a placeholder the script fills`);
      writeFileSync(full, text);
    }
    console.log(`registering ${name} with the gateway (workers/gateway/wrangler.toml: [[vars.SERVICES]] and [[services]] ${names.__SERVICE__})`);
    writeFileSync(GATEWAY_TOML, registerWithGateway(gatewayText, names));
    console.log("linking the workspace package (pnpm install)");
    // A new workspace package changes the lockfile: --no-frozen-lockfile, since pnpm freezes it by
    // default when CI=true (as CI runs the test that scaffolds a service).
    run("npx", [...PNPM, "install", "--no-frozen-lockfile", "--prefer-offline"], "pnpm install");
    console.log("regenerating env types (scripts/types.sh)");
    run("bash", ["scripts/types.sh"], "scripts/types.sh");
    run(path.join(ROOT, "node_modules", ".bin", "biome"), ["check", "--write", `workers/${name}`], "formatting the new service (biome)");
  } catch (err) {
    console.error(`new-service: ${err instanceof Error ? err.message : err}; putting everything back`);
    rmSync(target, { recursive: true, force: true });
    writeFileSync(GATEWAY_TOML, gatewayText);
    writeFileSync(lockfile, lockText);
    process.exit(1);
  }
  console.log(`
workers/${name} is ready: /v1/${name}/items through the gateway (${names.__Service__}Service, binding ${names.__SERVICE__}).
  npm run dev: serves it with the rest of the platform (demo data included)
  vitest run --project ${name}: runs its tests (npm test runs everything)
  workers/${name}/README.md: what it holds and how to make it yours
Commit workers/${name}, workers/gateway/wrangler.toml, workers/gateway/worker-configuration.d.ts and pnpm-lock.yaml.`);
}

main();
