import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../../identity/authenticate";
import { DeliveryListSchema, DeliveryParamSchema, DeliveryQuerySchema, DeliverySchema } from "../../schemas";

const tags = ["Webhooks"];

export const listDeliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "A webhook's deliveries, newest first, each with its attempts (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema, query: DeliveryQuerySchema },
  responses: {
    200: { description: "A page of deliveries", content: { "application/json": { schema: DeliveryListSchema } } },
    ...problemResponses(401, 403, 404, 422),
  },
});

export const redeliver = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
  operationId: "redeliverWebhookDelivery",
  summary: "Send one delivery again (admins only)",
  description:
    "Queues a fresh round of attempts (with retries) of the same event, with the same webhook-id, once the delivery's attempts have ended " +
    "(delivered, dead_lettered or cancelled). One round at a time: 409 while the delivery is still pending or retrying (also for all but one " +
    "of concurrent redeliveries), and while the webhook is paused or disabled.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: DeliveryParamSchema },
  responses: {
    202: { description: "Queued; the delivery as it stands", content: { "application/json": { schema: DeliverySchema } } },
    ...problemResponses(401, 403, 404, 409, 422),
  },
});
