import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importJWK } from "jose";
import { inject } from "vitest";
import { decryptText } from "../workers/gateway/src/identity/sealing";
import { REPO_ROOT } from "./paths";

/**
 * The platform's active signing key, read the way an operator with the machine could:
 * from the local D1 state with wrangler, decrypted by the gateway's own code with the local
 * SIGNING_KEYS_SECRET. It lets the suite forge tokens that are expired or for another audience
 * but otherwise perfectly signed, which no HTTP client could obtain.
 */
export async function activeSigningKey() {
  const wrangler = join(REPO_ROOT, "node_modules", ".bin", "wrangler");
  const out = execFileSync(
    wrangler,
    [
      "d1",
      "execute",
      "DB",
      "--local",
      "--json",
      "-c",
      join(REPO_ROOT, "workers/gateway/wrangler.toml"),
      "--persist-to",
      inject("stateDir"),
      "--command",
      "SELECT kid, private_jwk_encrypted FROM signing_keys WHERE status = 'active' ORDER BY created_at DESC LIMIT 1",
    ],
    { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, encoding: "utf8" },
  );
  const row = JSON.parse(out)[0].results[0] as { kid: string; private_jwk_encrypted: string };
  const vars = readFileSync(join(REPO_ROOT, "workers/gateway/.dev.vars"), "utf8");
  const secret = /^SIGNING_KEYS_SECRET=(.*)$/m.exec(vars)![1]!.trim();
  const jwk = JSON.parse(await decryptText(secret, row.private_jwk_encrypted));
  return { kid: row.kid, key: await importJWK(jwk, "ES256") };
}
