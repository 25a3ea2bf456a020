import { createRoute, z } from "@hono/zod-openapi";
import { IdParamSchema, problemResponses } from "@buildly/shared";
import { authenticate } from "../identity/authenticate";
import { requirePrivacy } from "./access";
import { ArchiveQuerySchema, PrivacyRequestCreateSchema, PrivacyRequestSchema } from "./schemas";

const tags = ["Privacy"];

export const createPrivacyRequest = createRoute({
  method: "post",
  path: "/v1/privacy/requests",
  operationId: "createPrivacyRequest",
  summary: "Start a subject request: access or erasure (admins, or a role with the privacy permission)",
  description:
    "Answers 202 with the request; it runs in the background (a Durable Object's alarm, resumed after a restart) and its " +
    "progress is read at GET /v1/privacy/requests/{id}. Erasure applies each service's catalog rule (docs/privacy.md); " +
    "`dry_run: true` lists what it would do and changes nothing. An erasure of the organization's last active admin " +
    "answers 409 (make another user admin first), as deactivating that user would.",
  tags,
  middleware: [authenticate, requirePrivacy("create")] as const,
  request: { body: { required: true, content: { "application/json": { schema: PrivacyRequestCreateSchema } } } },
  responses: {
    202: { description: "The request, accepted", content: { "application/json": { schema: PrivacyRequestSchema } } },
    ...problemResponses(400, 401, 403, 409, 415, 422),
  },
});

export const getPrivacyRequest = createRoute({
  method: "get",
  path: "/v1/privacy/requests/{id}",
  operationId: "getPrivacyRequest",
  summary: "A subject request's progress and per-step record (admins, or a role with the privacy permission)",
  tags,
  middleware: [authenticate, requirePrivacy("read")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: { description: "The request", content: { "application/json": { schema: PrivacyRequestSchema } } },
    ...problemResponses(401, 403, 404, 422),
  },
});

export const downloadPrivacyArchive = createRoute({
  method: "get",
  path: "/v1/privacy/requests/{id}/archive",
  operationId: "downloadPrivacyArchive",
  summary: "Download an access request's archive (a zip) through the signed, short-lived link its request answers",
  description:
    "The link comes from GET /v1/privacy/requests/{id} (`archive.url`) and lasts 15 minutes; it is the credential, so no token is " +
    "needed. The zip holds manifest.json (every entry with its count, size and SHA-256), services/<service>/<model>.json, " +
    "files/<service>/<model>/<id>/<name>, identity/*.json and events/*.json (docs/privacy.md).",
  tags,
  // The signed link is the credential.
  security: [],
  request: { params: IdParamSchema, query: ArchiveQuerySchema },
  responses: {
    200: {
      description: "The archive",
      content: { "application/zip": { schema: z.string().openapi({ type: "string", format: "binary" }) } },
    },
    ...problemResponses(403, 404, 422),
  },
});

export const deletePrivacyArchive = createRoute({
  method: "delete",
  path: "/v1/privacy/requests/{id}/archive",
  operationId: "deletePrivacyArchive",
  summary: "Delete an access request's stored archive, once the person has their copy (admins, or a role with privacy delete)",
  tags,
  middleware: [authenticate, requirePrivacy("delete")] as const,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted; its links answer 404 from now on" },
    ...problemResponses(401, 403, 404, 422),
  },
});

export type PrivacyRequestBody = z.infer<typeof PrivacyRequestSchema>;
