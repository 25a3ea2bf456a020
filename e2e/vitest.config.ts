import { defineConfig } from "vitest/config";

/**
 * The end-to-end suite: plain Node, no Workers plugin. The global setup starts the
 * platform with `bash scripts/dev.sh` (what `npm run dev` runs) and the tests speak
 * HTTP to the gateway only.
 */
export default defineConfig({
  test: {
    name: "e2e",
    environment: "node",
    include: ["**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    // One platform, shared state: files run one after another so counts and listings are not raced.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
