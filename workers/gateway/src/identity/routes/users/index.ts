import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

export function registerUsers(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.listUsers, handlers.list)
    .openapi(routes.createUser, handlers.create)
    .openapi(routes.getUser, handlers.get)
    .openapi(routes.updateUser, handlers.update)
    .openapi(routes.deleteUser, handlers.remove)
    .openapi(routes.replaceUserRoles, handlers.replaceRoles);
}
