import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // The demo seed, split into statements the same way, so a test can run it (twice) against the schema.
  const seed = await readD1Migrations(path.join(import.meta.dirname, "seed"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, TEST_SEED: seed },
          // An empty database of its own for the test that replays migrations over legacy data.
          d1Databases: { DB: "buildly-crm", MIGRATION_DB: "crm-migration-test" },
        },
      }),
    ],
    test: { name: "crm", silent: "passed-only", testTimeout: 30_000, setupFiles: ["../../packages/shared/src/test/apply-migrations.ts"] },
  };
});
