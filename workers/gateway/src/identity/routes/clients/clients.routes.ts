import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { ClientCreateSchema, ClientListQuerySchema, ClientListSchema, CreatedClientSchema } from "./clients.schemas";

const tags = ["Clients"];

export const createClient = createRoute({
  method: "post",
  path: "/v1/clients",
  operationId: "createClient",
  summary: "Create a machine client for the client_credentials grant (admins only)",
  description:
    "The answer holds the client secret; it is not stored and cannot be shown again. The client acts for its creator: " +
    "once the creator is no longer an active administrator, its token requests answer invalid_client and its tokens 401.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(ClientCreateSchema) },
  responses: {
    201: jsonContent(CreatedClientSchema, "The new client and its secret"),
    ...problemResponses(400, 401, 403, 413, 415, 422),
  },
});

export const listClients = createRoute({
  method: "get",
  path: "/v1/clients",
  operationId: "listClients",
  summary: "List the organization's machine clients, oldest first, without secrets (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { query: ClientListQuerySchema },
  responses: {
    200: jsonContent(ClientListSchema, "A page of clients"),
    ...problemResponses(401, 403, 422),
  },
});

export const revokeClient = createRoute({
  method: "delete",
  path: "/v1/clients/{id}",
  operationId: "revokeClient",
  summary: "Revoke a machine client (admins only)",
  description: "Its token requests fail with invalid_client from now on. Access tokens it already holds stay valid until they expire.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Revoked" }, ...problemResponses(401, 403, 404, 422) },
});
