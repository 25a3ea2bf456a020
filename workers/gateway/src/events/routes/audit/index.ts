import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./audit.handlers";
import * as routes from "./audit.routes";

export function registerAuditRoutes(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(routes.verifyAudit, handlers.verify).openapi(routes.listAudit, handlers.list);
}
