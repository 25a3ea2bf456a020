import { createRoute } from "@hono/zod-openapi";
import { jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, authenticateAnyScope } from "../../authenticate";
import {
  EmailVerifySchema,
  MeSchema,
  PasswordChangeSchema,
  PasswordResetConfirmSchema,
  PasswordResetRequestSchema,
  RegisterSchema,
  RegisteredSchema,
} from "./auth.schemas";

const tags = ["Auth"];

export const register = createRoute({
  method: "post",
  path: "/v1/auth/register",
  operationId: "register",
  summary: "Create an organization with yourself as admin, or join one with an invitation token",
  description:
    "An invitation is accepted only while whoever created it is still an active administrator (400 otherwise). " +
    "The password must follow the password rules (422). Creating an organization is refused (403) when the platform's " +
    "SELF_REGISTRATION is off. With EMAIL_VERIFICATION on (the default outside local development) the new account gets a " +
    "verification mail and cannot sign in before POST /v1/auth/verify-email.",
  tags,
  security: [],
  middleware: [jsonBody(16 * 1024)] as const,
  request: { body: jsonContentRequired(RegisterSchema) },
  responses: {
    201: jsonContent(RegisteredSchema, "Registered"),
    ...problemResponses(400, 403, 409, 413, 415, 422),
  },
});

export const me = createRoute({
  method: "get",
  path: "/v1/auth/me",
  operationId: "me",
  summary: "The caller: user, organization, roles and effective permissions",
  description: "Any valid access token may call this, whatever its scope. OpenID Connect clients read GET /v1/auth/userinfo instead.",
  tags,
  middleware: [authenticateAnyScope] as const,
  responses: {
    200: jsonContent(MeSchema, "The caller"),
    ...problemResponses(401),
  },
});

export const changePassword = createRoute({
  method: "post",
  path: "/v1/auth/password",
  operationId: "changePassword",
  summary: "Change your password (needs the current one); signs out every refresh token",
  description:
    "Wrong current passwords count against the account like failed logins (429 with Retry-After beyond the limit). " +
    "The new password must follow the password rules (422). Outstanding password-reset tokens stop working.",
  tags,
  middleware: [authenticate, jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(PasswordChangeSchema) },
  responses: { 204: { description: "Changed" }, ...problemResponses(400, 401, 403, 413, 415, 422, 429) },
});

export const requestPasswordReset = createRoute({
  method: "post",
  path: "/v1/auth/password-reset",
  operationId: "requestPasswordReset",
  summary: "Mail a reset token if the account exists (always 202)",
  description: "Answers before looking the account up, so neither the answer nor its timing depends on the email.",
  tags,
  security: [],
  middleware: [jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(PasswordResetRequestSchema) },
  responses: { 202: { description: "Accepted" }, ...problemResponses(400, 413, 415, 422) },
});

export const confirmPasswordReset = createRoute({
  method: "post",
  path: "/v1/auth/password-reset/confirm",
  operationId: "confirmPasswordReset",
  summary: "Set a new password with a reset token",
  description: "Using one reset token ends every other outstanding one of the account. A password the rules refuse (422) leaves the token usable.",
  tags,
  security: [],
  middleware: [jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(PasswordResetConfirmSchema) },
  responses: { 204: { description: "Password set" }, ...problemResponses(400, 413, 415, 422) },
});

export const confirmEmail = createRoute({
  method: "post",
  path: "/v1/auth/verify-email",
  operationId: "verifyEmail",
  summary: "Confirm an email address with the token from the verification mail",
  tags,
  security: [],
  middleware: [jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(EmailVerifySchema) },
  responses: { 204: { description: "Verified" }, ...problemResponses(400, 413, 415, 422) },
});

export const resendVerification = createRoute({
  method: "post",
  path: "/v1/auth/verify-email/resend",
  operationId: "resendVerification",
  summary: "Mail a new verification token if the account exists and is unverified (always 202)",
  tags,
  security: [],
  middleware: [jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(PasswordResetRequestSchema) },
  responses: { 202: { description: "Accepted" }, ...problemResponses(400, 413, 415, 422) },
});
