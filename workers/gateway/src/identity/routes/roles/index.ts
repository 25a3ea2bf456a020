import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./roles.handlers";
import * as routes from "./roles.routes";

export function registerRoles(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.listRoles, handlers.list)
    .openapi(routes.createRole, handlers.create)
    .openapi(routes.getRole, handlers.get)
    .openapi(routes.updateRole, handlers.update)
    .openapi(routes.deleteRole, handlers.remove);
}
