// The logic services the gateway serves, read from its wrangler.toml the way the scripts read it,
// so the suite still passes right after `npm run new-service` adds one.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { REPO_ROOT } from "./paths";

const gateway = parse(readFileSync(join(REPO_ROOT, "workers/gateway/wrangler.toml"), "utf8")) as { vars?: { SERVICES?: { name: string }[] } };

/** Registry names in the order of the gateway's [[vars.SERVICES]] (the order it fans out in). */
export const SERVICE_NAMES: string[] = (gateway.vars?.SERVICES ?? []).map((s) => s.name);
/** The three services this repository ships with; anything else was added by new-service. */
export const BUILTIN_SERVICES = ["crm", "documents", "appointments"];
export const ADDED_SERVICES = SERVICE_NAMES.filter((s) => !BUILTIN_SERVICES.includes(s));
