import { createRoute, type z } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, jsonBody, problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../../identity/authenticate";
import { WebhookInputSchema, WebhookListSchema, WebhookPatchSchema, WebhookSchema, WebhookWithSecretSchema } from "../../schemas";

const tags = ["Webhooks"];
const MAX_BODY_BYTES = 16 * 1024;
const body = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const content = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });

export const createWebhook = createRoute({
  method: "post",
  path: "/v1/webhooks",
  operationId: "createWebhook",
  summary: "Subscribe a URL to the organization's events (admins only)",
  description:
    "Events whose type matches a pattern are POSTed to the URL as CloudEvents JSON, signed per Standard Webhooks " +
    "(webhook-id, webhook-timestamp, webhook-signature). The answer holds the signing secret, shown only once. " +
    "422 for a URL that is not an https URL of a public host, or a malformed pattern; 422 too past the quota of 25 webhooks per organization " +
    "(counted in the INSERT itself, so concurrent creates cannot pass it together).",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(MAX_BODY_BYTES)] as const,
  request: { body: body(WebhookInputSchema) },
  responses: { 201: content("The webhook and its signing secret", WebhookWithSecretSchema), ...problemResponses(400, 401, 403, 413, 415, 422) },
});

export const listWebhooks = createRoute({
  method: "get",
  path: "/v1/webhooks",
  operationId: "listWebhooks",
  summary: "List the organization's webhooks (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { query: PaginationQuerySchema },
  responses: { 200: content("A page of webhooks, oldest first", WebhookListSchema), ...problemResponses(401, 403, 422) },
});

export const getWebhook = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  operationId: "getWebhook",
  summary: "Read a webhook (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 200: content("The webhook", WebhookSchema), ...problemResponses(401, 403, 404, 422) },
});

export const updateWebhook = createRoute({
  method: "patch",
  path: "/v1/webhooks/{id}",
  operationId: "updateWebhook",
  summary: "Change, pause or resume a webhook (admins only)",
  description: 'status "paused" stops deliveries (waiting ones are cancelled); "active" resumes, also after the platform disabled it.',
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(MAX_BODY_BYTES)] as const,
  request: { params: IdParamSchema, body: body(WebhookPatchSchema) },
  responses: { 200: content("The webhook", WebhookSchema), ...problemResponses(400, 401, 403, 404, 413, 415, 422) },
});

export const deleteWebhook = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  operationId: "deleteWebhook",
  summary: "Delete a webhook with its delivery history (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 422) },
});

export const rotateSecret = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  summary: "Give a webhook a new signing secret (admins only)",
  description:
    "The answer holds the new secret, shown only once. For 24 hours deliveries carry two signatures, one per secret, " +
    "so a receiver can switch over without missing one.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 200: content("The webhook and its new signing secret", WebhookWithSecretSchema), ...problemResponses(401, 403, 404, 422) },
});
