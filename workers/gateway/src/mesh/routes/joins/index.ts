import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./joins.handlers";
import * as routes from "./joins.routes";

export function registerJoins(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.listJoins, handlers.list)
    .openapi(routes.createJoin, handlers.create)
    .openapi(routes.getJoin, handlers.get)
    .openapi(routes.deleteJoin, handlers.remove);
}
