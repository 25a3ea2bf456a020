import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./relationships.handlers";
import * as routes from "./relationships.routes";

export function registerRelationships(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.listRelationships, handlers.list)
    .openapi(routes.createRelationship, handlers.create)
    .openapi(routes.getRelationship, handlers.get)
    .openapi(routes.deleteRelationship, handlers.remove);
}
