import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyRoutes } from "@buildly/shared";
import type { GatewayEnv } from "../types";

export { WorkflowIndexer } from "./indexer";
export { WorkflowInstance } from "./instance";
export { bearerFromSubprotocol } from "./routes/instances/events";

/**
 * Workflows under /v1/workflows: templates in D1, each running instance in its own Durable
 * Object (WorkflowInstance). Registered before the service routes, so /v1/workflows is ours.
 * Each group is built on its first request (lazyRoutes): a new route goes in its group's list.
 */
export function registerWorkflows(app: OpenAPIHono<GatewayEnv>) {
  lazyRoutes(
    app,
    [
      ["post", "/v1/workflows/templates"],
      ["get", "/v1/workflows/templates"],
      ["get", "/v1/workflows/templates/{id}"],
      ["put", "/v1/workflows/templates/{id}"],
      ["delete", "/v1/workflows/templates/{id}"],
    ],
    () => import("./routes/templates").then((m) => m.registerTemplates),
  );
  lazyRoutes(
    app,
    [
      ["post", "/v1/workflows/instances"],
      ["get", "/v1/workflows/instances"],
      ["get", "/v1/workflows/instances/{id}"],
      ["get", "/v1/workflows/instances/{id}/history"],
      ["post", "/v1/workflows/instances/{id}/transitions"],
      ["get", "/v1/workflows/instances/{id}/events"],
    ],
    () => import("./routes/instances").then((m) => m.registerInstances),
  );
}
