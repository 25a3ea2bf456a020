import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../../identity/authenticate";
import { EventListQuerySchema, EventListSchema } from "../../schemas";

export const listEvents = createRoute({
  method: "get",
  path: "/v1/events",
  operationId: "listEvents",
  summary: "The organization's recent events, newest first (admins only)",
  description:
    "Every create, update and delete in the logic services and every identity event, as CloudEvents 1.0 JSON, once each " +
    "(deduplicated by id). Filter by type, subject (a record id) and after (a time).",
  tags: ["Events"],
  middleware: [authenticate, requireAdmin] as const,
  request: { query: EventListQuerySchema },
  responses: {
    200: { description: "A page of events", content: { "application/json": { schema: EventListSchema } } },
    ...problemResponses(401, 403, 422),
  },
});
