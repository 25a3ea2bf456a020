import { createRoute, type z } from "@hono/zod-openapi";
import { jsonBody, problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { CreatedInvitationSchema, InvitationCreateSchema, InvitationListQuerySchema, InvitationListSchema } from "./invitations.schemas";

const tags = ["Invitations"];
const body = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

export const createInvitation = createRoute({
  method: "post",
  path: "/v1/invitations",
  operationId: "createInvitation",
  summary: "Invite someone to the organization with a role (admins only)",
  description:
    "Answers a single-use token, valid for 7 days, that only this answer shows. 409 if the email already has an account. " +
    "The invitation can be accepted only while its creator is still an active administrator.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(4 * 1024)] as const,
  request: { body: body(InvitationCreateSchema) },
  responses: {
    201: { description: "The invitation and its token", content: { "application/json": { schema: CreatedInvitationSchema } } },
    ...problemResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

export const listInvitations = createRoute({
  method: "get",
  path: "/v1/invitations",
  operationId: "listInvitations",
  summary: "List pending invitations (neither accepted nor expired), oldest first (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { query: InvitationListQuerySchema },
  responses: {
    200: { description: "A page of pending invitations", content: { "application/json": { schema: InvitationListSchema } } },
    ...problemResponses(401, 403, 422),
  },
});
