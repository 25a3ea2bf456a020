import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./webhooks.handlers";
import * as routes from "./webhooks.routes";

export function registerWebhookRoutes(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.createWebhook, handlers.create)
    .openapi(routes.listWebhooks, handlers.list)
    .openapi(routes.getWebhook, handlers.get)
    .openapi(routes.updateWebhook, handlers.update)
    .openapi(routes.deleteWebhook, handlers.remove)
    .openapi(routes.rotateSecret, handlers.rotate);
}
