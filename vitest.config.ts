import { defineConfig } from "vitest/config";

// Every Worker's tests run inside workerd (each folder has its own cloudflareTest() config);
// e2e/ starts the platform as a user does and speaks HTTP only.
export default defineConfig({
  test: {
    projects: ["packages/shared", "workers/*", "workers/gateway/vitest.limiter-down.config.ts", "workers/gateway/vitest.mesh-faults.config.ts", "e2e"],
  },
});
