import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { UserCreateSchema, UserListQuerySchema, UserListSchema, UserRolesSchema, UserSchema, UserUpdateSchema } from "./users.schemas";

const tags = ["Users"];
const user = (description: string) => jsonContent(UserSchema, description);

export const listUsers = createRoute({
  method: "get",
  path: "/v1/users",
  operationId: "listUsers",
  summary: "List the organization's users, oldest first, a page at a time (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { query: UserListQuerySchema },
  responses: {
    200: jsonContent(UserListSchema, "A page of users"),
    ...problemResponses(401, 403, 422),
  },
});

export const createUser = createRoute({
  method: "post",
  path: "/v1/users",
  operationId: "createUser",
  summary: "Create a user with a password and roles (admins only)",
  description: "Emails are unique across the platform, compared without regard to case.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(16 * 1024)] as const,
  request: { body: jsonContentRequired(UserCreateSchema) },
  responses: {
    201: user("The new user"),
    ...problemResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

export const getUser = createRoute({
  method: "get",
  path: "/v1/users/{id}",
  operationId: "getUser",
  summary: "Read one user (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 200: user("The user"), ...problemResponses(401, 403, 404, 422) },
});

export const updateUser = createRoute({
  method: "patch",
  path: "/v1/users/{id}",
  operationId: "updateUser",
  summary: "Rename, deactivate or reactivate a user (admins only)",
  description: "Deactivating revokes the user's refresh tokens at once. You cannot deactivate yourself, " + "nor the organization's last active admin (409).",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(4 * 1024)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(UserUpdateSchema) },
  responses: { 200: user("The updated user"), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
});

export const deleteUser = createRoute({
  method: "delete",
  path: "/v1/users/{id}",
  operationId: "deleteUser",
  summary: "Remove a user from the organization (admins only)",
  description:
    "The account is deactivated, not erased (tokens and records refer to it): it can no longer log in and " +
    "its refresh tokens are revoked. Same rules as deactivation: not yourself, not the last active admin.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 409, 422) },
});

export const replaceUserRoles = createRoute({
  method: "put",
  path: "/v1/users/{id}/roles",
  operationId: "replaceUserRoles",
  summary: "Replace a user's roles (admins only)",
  description:
    "Unknown role names are a 422; taking the admin role from the last active admin is a 409. " +
    "The new roles apply to the user's next request, with the access tokens it already holds. Invitations and " +
    "machine clients a demoted admin created stop working.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(4 * 1024)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(UserRolesSchema) },
  responses: { 200: user("The user with its new roles"), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
});
