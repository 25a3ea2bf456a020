import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyRoutes } from "@buildly/shared";
import type { GatewayEnv } from "../types";

export { deliverBatch, WEBHOOK_DELIVERY_QUEUE } from "./deliver";
export { fanOut } from "./fan-out";

/**
 * Webhooks under /v1/webhooks: subscriptions in D1, events handed over by the event consumer
 * (fanOut), one message per delivery on the buildly-webhook-deliveries queue, whose consumer
 * (deliverBatch) POSTs them signed per Standard Webhooks. Registered before the service routes;
 * each group is built on its first request (lazyRoutes): a new route goes in its group's list.
 */
export function registerWebhooks(app: OpenAPIHono<GatewayEnv>) {
  lazyRoutes(
    app,
    [
      ["post", "/v1/webhooks"],
      ["get", "/v1/webhooks"],
      ["get", "/v1/webhooks/{id}"],
      ["patch", "/v1/webhooks/{id}"],
      ["delete", "/v1/webhooks/{id}"],
      ["post", "/v1/webhooks/{id}/rotate-secret"],
    ],
    () => import("./routes/webhooks").then((m) => m.registerWebhookRoutes),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/webhooks/{id}/deliveries"],
      ["post", "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"],
    ],
    () => import("./routes/deliveries").then((m) => m.registerDeliveryRoutes),
  );
}
