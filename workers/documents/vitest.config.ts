import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        // MAX_UPLOAD_BYTES overrides wrangler.toml's 100 MiB so the 413 boundary is cheap to reach.
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: { bindings: { TEST_MIGRATIONS: migrations, MAX_UPLOAD_BYTES: "65536" } },
      }),
    ],
    test: { name: "documents", silent: "passed-only", setupFiles: ["../../packages/shared/src/test/apply-migrations.ts"] },
  };
});
