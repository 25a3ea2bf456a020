import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyHandler, lazyRoutes } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

/** Hands events to their subscriptions (fan-out.ts), loaded by the first batch, not at start-up. */
export const fanOut = lazyHandler(() => import("./fan-out").then((m) => m.fanOut));

/** The queue the gateway produces deliveries to and consumes them from (wrangler.toml). */
export const WEBHOOK_DELIVERY_QUEUE = "buildly-webhook-deliveries";

/** The consumer of WEBHOOK_DELIVERY_QUEUE (deliver.ts), loaded with its schemas by the first batch an isolate gets, not at start-up. */
export async function deliverBatch(batch: MessageBatch<unknown>, env: Env, ctx?: ExecutionContext): Promise<void> {
  return (await import("./deliver")).deliverBatch(batch, env, ctx);
}

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
