import { createRoute, z } from "@hono/zod-openapi";
import { jsonBody, jsonContent, jsonContentRequired, problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../authenticate";

const tags = ["Second factors"];

const Passkey = z
  .object({
    id: z.string().openapi({ description: "The credential id (base64url)" }),
    name: z.string(),
    backed_up: z.boolean().openapi({ description: "A synced (multi-device) passkey" }),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .openapi("Passkey");

const SecondFactors = z
  .object({
    totp: z.object({ enrolled: z.boolean() }),
    recovery_codes_left: z.number().int(),
    passkeys: z.array(Passkey),
    required: z.boolean().openapi({ description: "Whether your organization requires you (an admin) to have a second factor" }),
  })
  .openapi("SecondFactors");

const TotpSetup = z
  .object({
    secret: z.string().openapi({ description: "Base32 secret for authenticator apps (160 bits)" }),
    otpauth_uri: z.string().openapi({ description: "otpauth://totp/... for a QR code" }),
    algorithm: z.literal("SHA1"),
    digits: z.literal(6),
    period: z.literal(30),
  })
  .openapi("TotpSetup");

const RecoveryCodes = z
  .object({ recovery_codes: z.array(z.string()).openapi({ description: "Ten single-use codes, shown this once (stored hashed)" }) })
  .openapi("RecoveryCodes");

const Code = z.string().trim().min(1).max(64).openapi({ description: "6 digits from the authenticator app (or, where allowed, a recovery code)" });

/** WebAuthn options and responses are the W3C JSON forms (PublicKeyCredential*JSON); checked by the WebAuthn verifier. */
const WebAuthnJson = z.record(z.string(), z.unknown());

export const listFactors = createRoute({
  method: "get",
  path: "/v1/auth/mfa",
  operationId: "listSecondFactors",
  summary: "Your second factors: authenticator app, recovery codes left, passkeys",
  tags,
  middleware: [authenticate] as const,
  responses: { 200: jsonContent(SecondFactors, "Your second factors"), ...problemResponses(401, 403) },
});

export const startTotp = createRoute({
  method: "post",
  path: "/v1/auth/mfa/totp",
  operationId: "startTotpEnrollment",
  summary: "Start setting up an authenticator app (TOTP, RFC 6238): a new secret and its otpauth URI",
  description: "Nothing changes at sign-in until POST /v1/auth/mfa/totp/confirm with a code. 409 while an app is already enrolled (disable it first).",
  tags,
  middleware: [authenticate] as const,
  responses: { 201: jsonContent(TotpSetup, "The secret, shown this once"), ...problemResponses(401, 403, 409) },
});

export const confirmTotp = createRoute({
  method: "post",
  path: "/v1/auth/mfa/totp/confirm",
  operationId: "confirmTotpEnrollment",
  summary: "Finish setting up the authenticator app with its first code; returns ten recovery codes, once",
  description: "Wrong codes count on the account's login throttle (429 with Retry-After beyond it).",
  tags,
  middleware: [authenticate, jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(z.object({ code: Code }).strict().openapi("TotpConfirm")) },
  responses: { 200: jsonContent(RecoveryCodes, "Enrolled"), ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429) },
});

export const disableTotp = createRoute({
  method: "post",
  path: "/v1/auth/mfa/totp/disable",
  operationId: "disableTotp",
  summary: "Turn the authenticator app off (needs your password and a current code or a recovery code); ends the recovery codes",
  tags,
  middleware: [authenticate, jsonBody(4 * 1024)] as const,
  request: {
    body: jsonContentRequired(
      z
        .object({ password: z.string().min(1).max(256), code: Code })
        .strict()
        .openapi("TotpDisable"),
    ),
  },
  responses: { 204: { description: "Disabled" }, ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429) },
});

export const regenerateRecoveryCodes = createRoute({
  method: "post",
  path: "/v1/auth/mfa/recovery-codes",
  operationId: "regenerateRecoveryCodes",
  summary: "Replace your recovery codes with ten new ones (needs a current code from the authenticator app)",
  tags,
  middleware: [authenticate, jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(z.object({ code: Code }).strict().openapi("RecoveryCodesRequest")) },
  responses: { 200: jsonContent(RecoveryCodes, "The new codes, shown this once"), ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429) },
});

export const passkeyRegistrationOptions = createRoute({
  method: "post",
  path: "/v1/auth/mfa/passkeys/options",
  operationId: "passkeyRegistrationOptions",
  summary: "WebAuthn registration options for a new passkey (PublicKeyCredentialCreationOptionsJSON); the challenge lives 5 minutes",
  description: "Call navigator.credentials.create with them from a page of the gateway's origin (its host is the relying party id).",
  tags,
  middleware: [authenticate] as const,
  responses: { 200: jsonContent(WebAuthnJson.openapi("PasskeyRegistrationOptions"), "Options"), ...problemResponses(401, 403) },
});

export const registerPasskeyRoute = createRoute({
  method: "post",
  path: "/v1/auth/mfa/passkeys",
  operationId: "registerPasskey",
  summary: "Register a passkey: the browser's answer (RegistrationResponseJSON) to options issued to you",
  description:
    "400 when the answer does not verify, its challenge is unknown, expired, already used or was issued to another account; 409 when the passkey is already registered.",
  tags,
  middleware: [authenticate, jsonBody(16 * 1024)] as const,
  request: {
    body: jsonContentRequired(
      z
        .object({ name: z.string().trim().min(1).max(100).optional().openapi({ description: "A label, e.g. the device" }), response: WebAuthnJson })
        .strict()
        .openapi("PasskeyRegistration"),
    ),
  },
  responses: { 201: jsonContent(Passkey, "Registered"), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
});

export const removePasskey = createRoute({
  method: "post",
  path: "/v1/auth/mfa/passkeys/{id}/remove",
  operationId: "removePasskey",
  summary: "Remove one of your passkeys (needs your password)",
  tags,
  middleware: [authenticate, jsonBody(4 * 1024)] as const,
  request: {
    params: z.object({ id: z.string().max(1400) }),
    body: jsonContentRequired(
      z
        .object({ password: z.string().min(1).max(256) })
        .strict()
        .openapi("PasskeyRemove"),
    ),
  },
  responses: { 204: { description: "Removed" }, ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429) },
});

export const signinPasskeyOptions = createRoute({
  method: "post",
  path: "/v1/auth/passkey/options",
  operationId: "signinPasskeyOptions",
  summary: "The login page's WebAuthn sign-in options (PublicKeyCredentialRequestOptionsJSON); the challenge lives 5 minutes",
  description:
    "Without mfa_token: a passwordless sign-in with any passkey of this gateway (user verification required). With the login page's mfa_token " +
    "(after the password): only that account's passkeys.",
  tags: ["Sign-in"],
  security: [],
  middleware: [jsonBody(4 * 1024)] as const,
  request: {
    body: jsonContentRequired(
      z
        .object({ mfa_token: z.string().max(2000).optional() })
        .strict()
        .openapi("PasskeySigninOptionsRequest"),
    ),
  },
  responses: { 200: jsonContent(WebAuthnJson.openapi("PasskeySigninOptions"), "Options"), ...problemResponses(400, 413, 415, 422) },
});

const Policy = z
  .object({
    require_for_admins: z.boolean().openapi({ description: "Admins must sign in with a second factor; one without is led to set up an app at sign-in" }),
    updated_at: z.string().nullable(),
  })
  .openapi("SecondFactorPolicy");

export const getPolicy = createRoute({
  method: "get",
  path: "/v1/organizations/current/second-factor-policy",
  operationId: "getSecondFactorPolicy",
  summary: "The organization's second-factor policy",
  tags: ["Organizations"],
  middleware: [authenticate] as const,
  responses: { 200: jsonContent(Policy, "The policy"), ...problemResponses(401, 403) },
});

export const putPolicy = createRoute({
  method: "put",
  path: "/v1/organizations/current/second-factor-policy",
  operationId: "setSecondFactorPolicy",
  summary: "Require (or stop requiring) a second factor for the organization's admins (admins only)",
  description: "Applies from each admin's next sign-in; the password grant is refused to admins it covers.",
  tags: ["Organizations"],
  middleware: [authenticate, requireAdmin, jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(z.object({ require_for_admins: z.boolean() }).strict().openapi("SecondFactorPolicyUpdate")) },
  responses: { 200: jsonContent(Policy, "The policy now"), ...problemResponses(400, 401, 403, 413, 415, 422) },
});
