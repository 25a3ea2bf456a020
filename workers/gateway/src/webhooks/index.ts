import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerDeliveryRoutes } from "./routes/deliveries";
import { registerWebhookRoutes } from "./routes/webhooks";

export { deliverBatch, WEBHOOK_DELIVERY_QUEUE } from "./deliver";
export { fanOut } from "./fan-out";

/**
 * Webhooks under /v1/webhooks: subscriptions in D1, events handed over by the event consumer
 * (fanOut), one message per delivery on the buildly-webhook-deliveries queue, whose consumer
 * (deliverBatch) POSTs them signed per Standard Webhooks. Registered before the service routes.
 */
export function registerWebhooks(app: OpenAPIHono<GatewayEnv>) {
  registerWebhookRoutes(app);
  registerDeliveryRoutes(app);
}
