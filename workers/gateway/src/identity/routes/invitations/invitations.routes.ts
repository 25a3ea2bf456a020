import { createRoute } from "@hono/zod-openapi";
import { jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { CreatedInvitationSchema, InvitationCreateSchema, InvitationListQuerySchema, InvitationListSchema } from "./invitations.schemas";

const tags = ["Invitations"];

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
  request: { body: jsonContentRequired(InvitationCreateSchema) },
  responses: {
    201: jsonContent(CreatedInvitationSchema, "The invitation and its token"),
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
    200: jsonContent(InvitationListSchema, "A page of pending invitations"),
    ...problemResponses(401, 403, 422),
  },
});
