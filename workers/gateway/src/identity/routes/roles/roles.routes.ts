import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { RoleCreateSchema, RoleListSchema, RoleSchema, RoleUpdateSchema } from "./roles.schemas";

const tags = ["Roles"];
const role = (description: string) => jsonContent(RoleSchema, description);

export const listRoles = createRoute({
  method: "get",
  path: "/v1/roles",
  operationId: "listRoles",
  summary: "List the organization's roles, built-in ones first",
  tags,
  middleware: [authenticate] as const,
  request: { query: PaginationQuerySchema },
  responses: {
    200: jsonContent(RoleListSchema, "A page of roles"),
    ...problemResponses(401, 403, 422),
  },
});

export const createRole = createRoute({
  method: "post",
  path: "/v1/roles",
  operationId: "createRole",
  summary: "Create a custom role (admins only)",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(16 * 1024)] as const,
  request: { body: jsonContentRequired(RoleCreateSchema) },
  responses: { 201: role("The new role"), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
});

export const getRole = createRoute({
  method: "get",
  path: "/v1/roles/{id}",
  operationId: "getRole",
  summary: "Read one role",
  tags,
  middleware: [authenticate] as const,
  request: { params: IdParamSchema },
  responses: { 200: role("The role"), ...problemResponses(401, 403, 404, 422) },
});

export const updateRole = createRoute({
  method: "patch",
  path: "/v1/roles/{id}",
  operationId: "updateRole",
  summary: "Change a custom role's permissions (admins only)",
  description: "Built-in roles cannot be changed (409). The name of a role is fixed.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(16 * 1024)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(RoleUpdateSchema) },
  responses: { 200: role("The updated role"), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
});

export const deleteRole = createRoute({
  method: "delete",
  path: "/v1/roles/{id}",
  operationId: "deleteRole",
  summary: "Delete a custom role nobody holds (admins only)",
  description: "409 for a built-in role, and for a role still held by a user or an active client. Pending invitations to it are withdrawn.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 409, 422) },
});
