import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, jsonContent, jsonContentRequired, problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import {
  IdentityProviderCreateSchema,
  IdentityProviderListSchema,
  IdentityProviderSchema,
  IdentityProviderUpdateSchema,
  SsoPolicySchema,
} from "./providers.schemas";

const tags = ["Single sign-on"];
const BASE = "/v1/organizations/current/identity-providers";
const CHECKED =
  "The provider's discovery document is read (5 s deadline, 64 KiB at most) and must name exactly this issuer, with https endpoints " +
  "on public hosts and PKCE S256; otherwise 422. The client secret is stored encrypted and never answered.";

export const createIdentityProvider = createRoute({
  method: "post",
  path: BASE,
  operationId: "createIdentityProvider",
  summary: "Connect an upstream OpenID Connect provider for single sign-on (admins only)",
  description: `${CHECKED} Register the answer's redirect_uri at the provider. An email domain belongs to one provider of the organization (409).`,
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(16 * 1024)] as const,
  request: { body: jsonContentRequired(IdentityProviderCreateSchema) },
  responses: { 201: jsonContent(IdentityProviderSchema, "The connected provider"), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
});

export const listIdentityProviders = createRoute({
  method: "get",
  path: BASE,
  operationId: "listIdentityProviders",
  summary: "The organization's connected identity providers, oldest first, without secrets (admins only; at most 20, one page)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  responses: { 200: jsonContent(IdentityProviderListSchema, "Every provider (next_cursor is always null)"), ...problemResponses(401, 403) },
});

export const getIdentityProvider = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  operationId: "getIdentityProvider",
  summary: "One connected identity provider (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(IdentityProviderSchema, "The provider"), ...problemResponses(401, 403, 404, 422) },
});

export const updateIdentityProvider = createRoute({
  method: "patch",
  path: `${BASE}/{id}`,
  operationId: "updateIdentityProvider",
  summary: "Change a connected identity provider (admins only); a new client_secret replaces the old",
  description: `When the issuer changes: ${CHECKED} Accounts linked to the old issuer stay linked to this provider's id.`,
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(16 * 1024)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(IdentityProviderUpdateSchema) },
  responses: { 200: jsonContent(IdentityProviderSchema, "The provider"), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
});

export const deleteIdentityProvider = createRoute({
  method: "delete",
  path: `${BASE}/{id}`,
  operationId: "deleteIdentityProvider",
  summary: "Disconnect an identity provider and unlink its accounts (admins only)",
  description: "The accounts stay (with their passwords, if any). The last provider of an organization that requires SSO cannot be removed (409).",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Disconnected" }, ...problemResponses(401, 403, 404, 409, 422) },
});

export const getSsoPolicy = createRoute({
  method: "get",
  path: "/v1/organizations/current/sso",
  operationId: "getSsoPolicy",
  summary: "Whether the organization requires single sign-on (admins only)",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  responses: { 200: jsonContent(SsoPolicySchema, "The policy"), ...problemResponses(401, 403, 404) },
});

export const putSsoPolicy = createRoute({
  method: "put",
  path: "/v1/organizations/current/sso",
  operationId: "putSsoPolicy",
  summary: "Require single sign-on, or stop requiring it (admins only)",
  description:
    "With require_sso, password sign-in (the login page and the password grant) is refused to every user but administrators, " +
    "whose password sign-ins are the break-glass path and are audited (identity.login.succeeded with break_glass: true). " +
    "Requiring SSO needs at least one connected provider (422).",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(1024)] as const,
  request: { body: jsonContentRequired(SsoPolicySchema) },
  responses: { 200: jsonContent(SsoPolicySchema, "The policy"), ...problemResponses(400, 401, 403, 404, 413, 415, 422) },
});
