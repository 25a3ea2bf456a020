import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerJoins } from "./routes/joins";
import { registerRelationships } from "./routes/relationships";

export { meshForward } from "./proxy";

/**
 * The data mesh: relationships between models of different services, join records, and
 * `?join=` on every service route (meshForward, which wraps the plain forward).
 */
export function registerMesh(app: OpenAPIHono<GatewayEnv>) {
  registerRelationships(app);
  registerJoins(app);
}
