import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./deliveries.handlers";
import * as routes from "./deliveries.routes";

export function registerDeliveryRoutes(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(routes.listDeliveries, handlers.list).openapi(routes.redeliver, handlers.redeliver);
}
