// Applies each logic service's real migrations to the D1 databases its auxiliary Worker uses.
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

const e = env as unknown as Record<string, unknown>;
for (const name of ["CRM", "DOCUMENTS", "APPOINTMENTS"]) {
  await applyD1Migrations(e[`${name}_DB`] as D1Database, e[`${name}_MIGRATIONS`] as D1Migration[]);
}
await applyD1Migrations(e.DB as D1Database, e.GATEWAY_MIGRATIONS as D1Migration[]);
