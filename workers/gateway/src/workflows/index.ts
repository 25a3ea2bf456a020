import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyDurableObject, lazyHandler, lazyRoutes } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import type { WorkflowIndexer as Indexer } from "./indexer";
import type { WorkflowInstance as Instance } from "./instance";

/** The class (instance.ts, its templates, definitions and actions) loads when a first object is built. */
export const WorkflowInstance = lazyDurableObject(() => import("./instance").then((m) => m.WorkflowInstance), {
  init: true,
  get: true,
  history: true,
  transition: true,
  childChanged: true,
  discard: true,
  fetch: true,
  webSocketMessage: true,
  webSocketClose: true,
  alarm: true,
});
export type WorkflowInstance = Instance;
/** The index's writer (indexer.ts, the index's D1 statements) loads when a first indexer object is built. */
export const WorkflowIndexer = lazyDurableObject(() => import("./indexer").then((m) => m.WorkflowIndexer), { write: true });
export type WorkflowIndexer = Indexer;
/** A watcher's token from its WebSocket subprotocol (routes/instances/events.ts), loaded on the first watch request. */
export const bearerFromSubprotocol = lazyHandler(() => import("./routes/instances/events").then((m) => m.bearerFromSubprotocol));

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
