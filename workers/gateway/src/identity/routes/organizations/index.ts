import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./organizations.handlers";
import * as routes from "./organizations.routes";

export function registerOrganizations(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(routes.getCurrentOrganization, handlers.getCurrent).openapi(routes.updateCurrentOrganization, handlers.updateCurrent);
}
