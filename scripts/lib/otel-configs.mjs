// `wrangler dev` with several configs passes --var to the first Worker only (the gateway); the
// services read theirs from their own config. When OTEL_* variables are set in the shell, this
// writes a copy of each Worker's config next to it (.otel.wrangler.toml, git-ignored, same
// directory so every relative path still holds) with those variables added to [vars], and prints
// the `-c` arguments that name the copies. Secrets (OTEL_EXPORTER_OTLP_HEADERS) never go into a
// file: put them in each Worker's .dev.vars (docs/observability.md).
//   node scripts/lib/otel-configs.mjs -c workers/gateway/wrangler.toml -c workers/crm/wrangler.toml ...
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "smol-toml";

const PASSED = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER_ARG", "OTEL_METRIC_EXPORT_INTERVAL"];
const vars = Object.fromEntries(PASSED.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
const args = process.argv.slice(2);
const out = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] !== "-c") {
    out.push(args[i]);
    continue;
  }
  const file = args[++i];
  const config = parse(readFileSync(file, "utf8"));
  config.vars = { ...(config.vars ?? {}), ...vars };
  const copy = path.join(path.dirname(file), ".otel.wrangler.toml");
  writeFileSync(copy, `# Written by scripts/lib/otel-configs.mjs from ${path.basename(file)}: do not edit.\n${stringify(config)}\n`);
  out.push("-c", copy);
}
console.log(out.join("\n"));
