import { defineConfig } from "vitest/config";
import { gatewayTestConfig } from "./vitest.config";

// The same gateway, with one more service ("faulty") whose data mesh calls fail or hang, and a
// credentials Worker (CREDENTIALS) whose every call fails.
export default defineConfig(() => gatewayTestConfig({ name: "gateway-mesh-faults", include: ["test/mesh-faults/**/*.test.ts"], meshFaults: true }));
