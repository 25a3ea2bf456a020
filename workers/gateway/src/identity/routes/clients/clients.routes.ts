import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { ClientCreateSchema, ClientListQuerySchema, ClientListSchema, CreatedClientSchema } from "./clients.schemas";

const tags = ["Clients"];

export const createClient = createRoute({
  method: "post",
  path: "/v1/clients",
  operationId: "createClient",
  summary: "Register a client: a machine client (client_credentials) or an app that signs users in (authorization_code) (admins only)",
  description:
    "A confidential client with a secret gets it in the answer only; it is not stored and cannot be shown again. A machine client " +
    "acts for its creator: once the creator is no longer an active administrator, its token requests answer invalid_client and its tokens 401. " +
    "An app (public: PKCE only; confidential: secret or private_key_jwt) registers exact redirect URIs.",
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
  summary: "Revoke a client (admins only; the first-party console client cannot be revoked: 409)",
  description: "Its token requests fail with invalid_client from now on. Access tokens it already holds stay valid until they expire.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Revoked" }, ...problemResponses(401, 403, 404, 409, 422) },
});
