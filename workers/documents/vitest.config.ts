import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // seed/demo.sql, split into statements the same way, so a test can run the real seed.
  const seed = await readD1Migrations(path.join(import.meta.dirname, "seed"));
  return {
    plugins: [
      cloudflareTest({
        // MAX_UPLOAD_BYTES overrides wrangler.toml's 100 MiB: big enough for a three-part R2
        // multipart upload (2 x 5 MiB + rest), small enough that the 413 boundary is cheap to reach.
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, TEST_SEED: seed, MAX_UPLOAD_BYTES: String(12 * 1024 * 1024) },
          // An empty database for testing the migrations themselves, step by step.
          d1Databases: ["MIGRATION_DB"],
        },
      }),
    ],
    test: { name: "documents", silent: "passed-only", testTimeout: 30_000, setupFiles: ["../../packages/shared/src/test/apply-migrations.ts"] },
  };
});
