import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations },
          // An empty database of its own for the test that replays migrations over existing rows.
          d1Databases: { DB: "buildly-appointments", MIGRATION_DB: "appointments-migration-test" },
        },
      }),
    ],
    test: { name: "appointments", silent: "passed-only", testTimeout: 30_000, setupFiles: ["../../packages/shared/src/test/apply-migrations.ts"] },
  };
});
