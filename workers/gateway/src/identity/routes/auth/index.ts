import { jsonContent } from "@buildly/shared";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";
import { revocationEndpoint, tokenEndpoint } from "./token";
import { registerWellKnown } from "./well-known";

const TokenRequest = z
  .object({
    grant_type: z.enum(["authorization_code", "refresh_token", "client_credentials", "password"]),
    code: z.string().optional().openapi({ description: "authorization_code: the code from the redirect" }),
    redirect_uri: z.string().optional().openapi({ description: "authorization_code: the same redirect_uri as the authorization request" }),
    code_verifier: z.string().optional().openapi({ description: "authorization_code: the PKCE verifier (43-128 characters)" }),
    username: z.string().optional().openapi({ description: "password grant (legacy): the email" }),
    password: z.string().optional(),
    refresh_token: z.string().optional(),
    client_id: z.string().optional().openapi({ description: "Public clients: their id (PKCE authenticates them). Unknown ids are invalid_client." }),
    client_secret: z.string().optional(),
    client_assertion_type: z.string().optional().openapi({ description: "private_key_jwt: urn:ietf:params:oauth:client-assertion-type:jwt-bearer" }),
    client_assertion: z.string().optional(),
    scope: z.string().optional(),
  })
  .openapi("TokenRequest");

const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    refresh_token: z.string().optional(),
    id_token: z.string().optional().openapi({ description: "With the openid scope (authorization_code, or password with a client_id)" }),
    scope: z.string(),
  })
  .openapi("TokenResponse");

const OAuthErrorBody = z.object({ error: z.string(), error_description: z.string() }).openapi("OAuthError");

export function registerAuth(app: OpenAPIHono<GatewayEnv>) {
  registerWellKnown(app);

  // RFC 6749 / 7009 endpoints answer OAuth error bodies, not problem+json, so they parse their own input.
  app.post("/v1/auth/token", tokenEndpoint);
  app.post("/v1/auth/revoke", revocationEndpoint);
  const oauthBody = {
    required: true,
    content: { "application/x-www-form-urlencoded": { schema: TokenRequest }, "application/json": { schema: TokenRequest } },
  };
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/auth/token",
    operationId: "token",
    summary: "OAuth2 token endpoint (RFC 6749): authorization_code (PKCE), refresh_token, client_credentials and the legacy password grant",
    description:
      "authorization_code: public clients send client_id and code_verifier; confidential clients also authenticate (client_secret_basic, " +
      "client_secret_post or private_key_jwt). A code works once; a second use revokes every token issued from it. Refresh tokens rotate on " +
      "every use, and a rotated one presented again revokes its family. scope (space-separated): openid, profile, email, offline_access " +
      "(a refresh token), read, write (client_credentials: read and write only). Without scope: every scope the grant allows. " +
      "password is legacy (OAuth 2.1 removes it): use the authorization code flow; a client_id, if sent, must be a known client. " +
      "The body is at most 16 KiB (413).",
    tags: ["Auth"],
    security: [],
    request: { body: oauthBody },
    responses: {
      200: jsonContent(TokenResponse, "Tokens"),
      400: jsonContent(OAuthErrorBody, "RFC 6749 5.2 error"),
      401: jsonContent(OAuthErrorBody, "Client authentication failed"),
      413: jsonContent(OAuthErrorBody, "The body is larger than 16 KiB"),
      429: jsonContent(OAuthErrorBody, "Too many failed logins for this account (see Retry-After)"),
    },
  });
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/auth/revoke",
    operationId: "revoke",
    summary: "OAuth2 token revocation (RFC 7009): revokes a refresh token and its family",
    tags: ["Auth"],
    security: [],
    request: {
      body: {
        required: true,
        content: {
          "application/x-www-form-urlencoded": {
            schema: z.object({ token: z.string().min(1), token_type_hint: z.string().optional() }).openapi("RevokeRequest"),
          },
        },
      },
    },
    responses: {
      200: { description: "Revoked, or the token was unknown" },
      400: jsonContent(OAuthErrorBody, "RFC 6749 5.2 error"),
      401: jsonContent(OAuthErrorBody, "Client authentication failed (invalid_client)"),
      413: jsonContent(OAuthErrorBody, "The body is larger than 16 KiB"),
    },
  });

  return app
    .openapi(routes.register, handlers.register)
    .openapi(routes.me, handlers.me)
    .openapi(routes.changePassword, handlers.changePassword)
    .openapi(routes.requestPasswordReset, handlers.requestPasswordReset)
    .openapi(routes.confirmPasswordReset, handlers.confirmPasswordReset)
    .openapi(routes.confirmEmail, handlers.confirmEmail)
    .openapi(routes.resendVerification, handlers.resendVerification);
}
