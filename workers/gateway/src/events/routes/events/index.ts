import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./events.handlers";
import * as routes from "./events.routes";

export function registerEventRoutes(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(routes.listEvents, handlers.list);
}
