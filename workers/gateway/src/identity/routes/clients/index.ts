import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./clients.handlers";
import * as routes from "./clients.routes";

export function registerClients(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(routes.createClient, handlers.create).openapi(routes.listClients, handlers.list).openapi(routes.revokeClient, handlers.revoke);
}
