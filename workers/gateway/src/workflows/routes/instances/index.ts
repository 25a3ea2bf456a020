import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./instances.handlers";
import * as routes from "./instances.routes";

export function registerInstances(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.createInstance, handlers.create)
    .openapi(routes.listInstances, handlers.list)
    .openapi(routes.getInstance, handlers.get)
    .openapi(routes.getHistory, handlers.history)
    .openapi(routes.takeTransition, handlers.transition)
    .openapi(routes.watchInstance, handlers.events);
}
