// Applies each logic service's real migrations to the D1 databases its auxiliary Worker uses.
// Those bindings exist only in the test config (vitest.config.ts), so they are looked up by name;
// TEST_SERVICE_KEYS lists every logic service the config found under workers/.
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

const binding = <T>(name: string) => Reflect.get(env, name) as T;
for (const name of binding<string[]>("TEST_SERVICE_KEYS")) {
  await applyD1Migrations(binding<D1Database>(`${name}_DB`), binding<D1Migration[]>(`${name}_MIGRATIONS`));
}
await applyD1Migrations(env.DB, binding<D1Migration[]>("GATEWAY_MIGRATIONS"));
