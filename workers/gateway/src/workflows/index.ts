import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerInstances } from "./routes/instances";
import { registerTemplates } from "./routes/templates";

export { WorkflowInstance } from "./instance";
export { bearerFromSubprotocol } from "./routes/instances/events";

/**
 * Workflows under /v1/workflows: templates in D1, each running instance in its own Durable
 * Object (WorkflowInstance). Registered before the service routes, so /v1/workflows is ours.
 */
export function registerWorkflows(app: OpenAPIHono<GatewayEnv>) {
  registerTemplates(app);
  registerInstances(app);
}
