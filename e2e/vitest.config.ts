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
    // A safety net, not a speed check: the suite runs beside the Workers' tests and the type checks
    // (scripts/test.sh), and a test of many round trips took 38 s on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
