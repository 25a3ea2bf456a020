import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "@buildly/shared";
import { authenticate } from "../identity/authenticate";
import { requirePrivacy } from "./access";
import { ConsentContactQuerySchema, ConsentCreateSchema, ConsentHistoryQuerySchema, ConsentHistorySchema, ConsentSchema, ConsentStateSchema } from "./schemas";

const tags = ["Privacy"];
const json = <T>(schema: T) => ({ "application/json": { schema } });

export const recordConsent = createRoute({
  method: "post",
  path: "/v1/privacy/consents",
  operationId: "recordConsent",
  summary: "Record that a contact gave or withdrew consent for a purpose (admins, or a role with the privacy permission)",
  description:
    "Appends to the contact's consent history (records are never changed or deleted). The contact must exist in your organization " +
    "(asked of the CRM through its contract). At most 100 purposes per contact.",
  tags,
  middleware: [authenticate, requirePrivacy("create")] as const,
  request: { body: { required: true, content: json(ConsentCreateSchema) } },
  responses: {
    201: { description: "The consent record", content: json(ConsentSchema) },
    ...problemResponses(400, 401, 403, 415, 422, 502, 503, 504),
  },
});

export const currentConsents = createRoute({
  method: "get",
  path: "/v1/privacy/consents",
  operationId: "currentConsents",
  summary: "A contact's current consent per purpose (admins, or a role with the privacy permission)",
  description: "Each purpose's latest record (by `at`, then when it was recorded). Also embedded in contacts with `?join=consents`.",
  tags,
  middleware: [authenticate, requirePrivacy("read")] as const,
  request: { query: ConsentContactQuerySchema },
  responses: {
    200: { description: "The current state", content: json(ConsentStateSchema) },
    ...problemResponses(401, 403, 422),
  },
});

export const consentHistory = createRoute({
  method: "get",
  path: "/v1/privacy/consents/history",
  operationId: "consentHistory",
  summary: "A contact's whole consent history, newest first (admins, or a role with the privacy permission)",
  tags,
  middleware: [authenticate, requirePrivacy("read")] as const,
  request: { query: ConsentHistoryQuerySchema },
  responses: {
    200: { description: "A page of consent records", content: json(ConsentHistorySchema) },
    ...problemResponses(401, 403, 422),
  },
});
