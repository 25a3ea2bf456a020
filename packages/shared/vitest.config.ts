import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // KIT_DB: a real, empty D1 for the kit's query helpers (keyset, inJson, getOwnedOr404);
  // DB: one for the Sessions helper (d1-session.test.ts), which makes its own table.
  // FILES: a real R2 bucket for the traced R2 binding (telemetry.test.ts).
  plugins: [cloudflareTest({ miniflare: { compatibilityDate: "2026-11-01", d1Databases: ["KIT_DB", "DB"], r2Buckets: ["FILES"] } })],
  test: { name: "shared", silent: "passed-only", include: ["test/**/*.test.ts"] },
});
