import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./templates.handlers";
import * as routes from "./templates.routes";

export function registerTemplates(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.createTemplate, handlers.create)
    .openapi(routes.listTemplates, handlers.list)
    .openapi(routes.getTemplate, handlers.get)
    .openapi(routes.updateTemplate, handlers.update)
    .openapi(routes.deleteTemplate, handlers.remove);
}
