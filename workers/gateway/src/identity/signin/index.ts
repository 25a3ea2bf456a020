import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { jsonContent, problemResponses } from "@buildly/shared";
import { authenticateAnyScope } from "../authenticate";
import type { GatewayEnv } from "../../types";
import { authorizeGet, authorizePost } from "./authorize";
import { logoutGet, logoutPost } from "./logout";
import { forgotGet, forgotPost, resetGet, resetPost } from "./password-pages";
import { userinfo } from "./userinfo";

export { consoleClient, consoleClientRow } from "./app-clients";
export { endUserSessions } from "./sessions";

const html = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });
const redirect = (description: string) => ({
  description,
  headers: { location: { required: true, description: "Where the browser goes next", schema: { type: "string" as const } } },
});

const UserInfo = z
  .object({
    sub: z.string(),
    org: z.string().openapi({ description: "The user's organization" }),
    name: z.string().optional().openapi({ description: "With the profile scope" }),
    updated_at: z.number().int().optional(),
    email: z.string().optional().openapi({ description: "With the email scope" }),
    email_verified: z.boolean().optional(),
  })
  .openapi("UserInfo");

const AUTHORIZE_QUERY = z.object({
  response_type: z.literal("code"),
  client_id: z.string(),
  redirect_uri: z.string().openapi({ description: "Exactly one the client registered (a loopback IP URI on any port)" }),
  scope: z.string().openapi({ example: "openid profile email offline_access read write" }),
  state: z.string().optional(),
  code_challenge: z.string().openapi({ description: "BASE64URL(SHA-256(code_verifier)), 43 characters" }),
  code_challenge_method: z.literal("S256"),
  nonce: z.string().optional(),
  prompt: z.string().optional().openapi({ description: "none, login or consent" }),
  max_age: z.string().optional(),
  login_hint: z.string().optional(),
});

/** The hosted sign-in: authorization endpoint and login page, userinfo, logout, forgotten passwords. */
export function registerSignin(app: OpenAPIHono<GatewayEnv>) {
  app.get("/v1/auth/authorize", authorizeGet);
  app.post("/v1/auth/authorize", authorizePost);
  app.get("/v1/auth/userinfo", authenticateAnyScope, userinfo);
  app.post("/v1/auth/userinfo", authenticateAnyScope, userinfo);
  app.get("/v1/auth/logout", logoutGet);
  app.post("/v1/auth/logout", logoutPost);
  app.get("/v1/auth/forgot-password", forgotGet);
  app.post("/v1/auth/forgot-password", forgotPost);
  app.get("/v1/auth/reset-password", resetGet);
  app.post("/v1/auth/reset-password", resetPost);

  const r = app.openAPIRegistry;
  const tags = ["Sign-in"];
  r.registerPath({
    method: "get",
    path: "/v1/auth/authorize",
    operationId: "authorize",
    summary: "Authorization endpoint (authorization code + PKCE S256, OpenID Connect); shows the hosted login page",
    description:
      "A browser comes here from an application. Signed in (session cookie) and allowed: 302 to redirect_uri with code, state and iss " +
      "(RFC 9207). Otherwise the login page, or the consent page for third-party clients. Errors about the client or redirect_uri are a " +
      "page (400) and never redirect; other errors go to redirect_uri with error, error_description, state and iss. Codes are single-use, " +
      "bound to client, redirect_uri, PKCE challenge and user, and expire after 60 s.",
    tags,
    security: [],
    request: { query: AUTHORIZE_QUERY },
    responses: { 200: html("The login or consent page"), 302: redirect("Back to the client: code or error"), 400: html("An error page") },
  });
  r.registerPath({
    method: "post",
    path: "/v1/auth/authorize",
    operationId: "authorizeForm",
    summary: "The login page's forms: sign in, allow or deny, 'not you?' (CSRF-protected)",
    tags,
    security: [],
    request: {
      body: {
        required: true,
        content: {
          "application/x-www-form-urlencoded": {
            schema: z
              .object({
                action: z.enum(["login", "allow", "deny", "switch", "second_factor", "enroll", "passkey"]).openapi({
                  description:
                    "second_factor: a code after the password (mfa_token, code); enroll: the first code of an app set up at sign-in; passkey: a WebAuthn assertion (passkey, optional mfa_token)",
                }),
                csrf: z.string(),
              })
              .passthrough(),
          },
        },
      },
    },
    responses: {
      200: html("The next page"),
      303: redirect("Back to the client: code or error"),
      400: html("Wrong email, password or code, a refused passkey, or a bad request"),
      403: html("The form was not posted from the login page (CSRF)"),
      429: {
        ...html("Too many failed sign-ins for the account"),
        headers: { "Retry-After": { required: true, description: "Seconds until the account may try again", schema: { type: "integer" as const } } },
      },
    },
  });
  for (const method of ["get", "post"] as const) {
    r.registerPath({
      method,
      path: "/v1/auth/userinfo",
      operationId: method === "get" ? "userinfo" : "userinfoPost",
      summary: "OpenID Connect userinfo: the signed-in user's claims (needs the openid scope)",
      tags,
      responses: { 200: jsonContent(UserInfo, "Claims as the scope allows"), ...problemResponses(401, 403) },
    });
  }
  r.registerPath({
    method: "get",
    path: "/v1/auth/logout",
    operationId: "endSession",
    summary: "End session (OpenID Connect RP-Initiated Logout): signs the browser out",
    description:
      "post_logout_redirect_uri must equal one the client (id_token_hint's audience or client_id) registered. With an id_token_hint " +
      "naming the signed-in user the session ends at once; otherwise the user confirms.",
    tags,
    security: [],
    request: {
      query: z.object({
        id_token_hint: z.string().optional(),
        client_id: z.string().optional(),
        post_logout_redirect_uri: z.string().optional(),
        state: z.string().optional(),
      }),
    },
    responses: { 200: html("Signed out, or a confirmation page"), 302: redirect("To post_logout_redirect_uri with state"), 400: html("An error page") },
  });
  r.registerPath({
    method: "post",
    path: "/v1/auth/logout",
    operationId: "endSessionConfirm",
    summary: "The logout confirmation form (CSRF-protected)",
    tags,
    security: [],
    responses: { 200: html("Signed out"), 303: redirect("To post_logout_redirect_uri"), 400: html("An error page"), 403: html("CSRF") },
  });
  for (const [path, id, summary] of [
    ["/v1/auth/forgot-password", "forgotPassword", "Forgot password page: mails a reset token (same flow as POST /v1/auth/password-reset)"],
    ["/v1/auth/reset-password", "resetPassword", "Reset password page: a reset token and a new password"],
  ] as const) {
    r.registerPath({ method: "get", path, operationId: `${id}Page`, summary, tags, security: [], responses: { 200: html("The form") } });
    r.registerPath({
      method: "post",
      path,
      operationId: `${id}Form`,
      summary,
      tags,
      security: [],
      responses: { 200: html("Done"), 400: html("Refused (the page says why)"), 403: html("CSRF") },
    });
  }
}
