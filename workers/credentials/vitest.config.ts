import path from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The credentials Worker's own tests, inside workerd against its wrangler.toml (no database).
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: path.join(import.meta.dirname, "wrangler.toml") } })],
  test: { name: "credentials", silent: "passed-only" as const, testTimeout: 30_000 },
});
