import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, problemResponses } from "@buildly/shared";
import { authenticate } from "../identity/authenticate";
import { requirePrivacy } from "./access";
import { LegalHoldCreateSchema, LegalHoldListQuerySchema, LegalHoldListSchema, LegalHoldReleaseSchema, LegalHoldSchema } from "./schemas";

const tags = ["Privacy"];
const json = <T>(schema: T) => ({ "application/json": { schema } });

export const createLegalHold = createRoute({
  method: "post",
  path: "/v1/privacy/holds",
  operationId: "createLegalHold",
  summary: "Place a legal hold on a record: erasure keeps it and reports it as held (admins, or a role with the privacy permission)",
  description: "The record must exist in your organization (the service is asked through its contract). At most one hold in force per record: a second is 409.",
  tags,
  middleware: [authenticate, requirePrivacy("create")] as const,
  request: { body: { required: true, content: json(LegalHoldCreateSchema) } },
  responses: {
    201: { description: "The hold, in force", content: json(LegalHoldSchema) },
    ...problemResponses(400, 401, 403, 404, 409, 415, 422, 502, 503, 504),
  },
});

export const listLegalHolds = createRoute({
  method: "get",
  path: "/v1/privacy/holds",
  operationId: "listLegalHolds",
  summary: "The organization's legal holds, newest first (admins, or a role with the privacy permission)",
  tags,
  middleware: [authenticate, requirePrivacy("read")] as const,
  request: { query: LegalHoldListQuerySchema },
  responses: {
    200: { description: "A page of holds", content: json(LegalHoldListSchema) },
    ...problemResponses(401, 403, 422),
  },
});

export const getLegalHold = createRoute({
  method: "get",
  path: "/v1/privacy/holds/{id}",
  operationId: "getLegalHold",
  summary: "One legal hold (admins, or a role with the privacy permission)",
  tags,
  middleware: [authenticate, requirePrivacy("read")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: { description: "The hold", content: json(LegalHoldSchema) },
    ...problemResponses(401, 403, 404, 422),
  },
});

export const releaseLegalHold = createRoute({
  method: "post",
  path: "/v1/privacy/holds/{id}/release",
  operationId: "releaseLegalHold",
  summary: "Release a legal hold: erasure no longer keeps the record; the hold stays on record, released (admins, or a role with the privacy permission)",
  tags,
  middleware: [authenticate, requirePrivacy("delete")] as const,
  request: { params: IdParamSchema, body: { required: false, content: json(LegalHoldReleaseSchema) } },
  responses: {
    200: { description: "The hold, released", content: json(LegalHoldSchema) },
    ...problemResponses(400, 401, 403, 404, 409, 415, 422),
  },
});
