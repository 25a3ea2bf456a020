import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // DB: a D1 for the Sessions helper (d1-session.test.ts), which makes its own table.
  plugins: [cloudflareTest({ miniflare: { compatibilityDate: "2026-11-01", d1Databases: ["DB"] } })],
  test: { name: "shared", silent: "passed-only", include: ["test/**/*.test.ts"] },
});
