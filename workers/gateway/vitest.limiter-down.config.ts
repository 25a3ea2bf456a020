import { defineConfig } from "vitest/config";
import { gatewayTestConfig } from "./vitest.config";

// The same gateway, with a rate limiter that cannot be reached.
export default defineConfig(() => gatewayTestConfig({ name: "gateway-limiter-down", include: ["test/limiter-down/**/*.test.ts"], limiterDown: true }));
