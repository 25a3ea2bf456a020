import type { Context } from "hono";
import { z } from "zod";
import { eq } from "drizzle-orm";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { ApiError, readTextLimited } from "@buildly/shared";
import { authConfig } from "../../config";
import { findUserByEmail, roleNamesOf } from "../../accounts";
import { DUMMY_PASSWORD_HASH, constantTimeEqual, sha256Hex, verifyPassword } from "../../crypto";
import { reservePasswordAttempt } from "../../login-guard";
import { OAuthError } from "../../oauth-errors";
import { sponsorIsAdmin } from "../../principal-status";
import { currentScope, grantScope } from "../../scopes";
import { CLOCK_SKEW_SECONDS, consumeRefreshToken, issueAccessToken, issueRefreshToken, revokeRefreshToken } from "../../tokens";
import { consoleClient, findClient } from "../../signin/app-clients";
import { emailVerifiedEnough } from "../../platform-settings";
import { issueIdToken, pkceMatches, redeemCode } from "../../signin/codes";
import { secondFactorState } from "../../mfa";
import { db } from "../../db/client";
import { clientAssertions, users, type ClientRow } from "../../db/schema";
import type { GatewayEnv } from "../../../types";
import type { EventActor } from "@buildly/shared";
import { passwordSignInPolicy } from "../../federation/options";
import { actorOf, identityEvent, outboxInsert, relaySoon, systemActor } from "../../../events/emit";

/** A login attempt on a known account or client: its own event (the attempt is the change), relayed after the answer. */
async function recordLogin(
  c: Context<GatewayEnv>,
  type: "identity.login.succeeded" | "identity.login.failed",
  actor: EventActor,
  who: { id: string; organization_id: string },
  data: Record<string, unknown>,
) {
  const event = identityEvent(actor, type, { subject: who.id, organizationid: who.organization_id, data: { id: who.id, ...data } });
  await outboxInsert(db(c.env.DB), event);
  relaySoon(c);
}

/** Signature algorithms accepted for private_key_jwt client assertions. */
export const CLIENT_ASSERTION_ALGS = ["ES256", "RS256", "PS256", "EdDSA"];

/** The largest token or revocation request body; a real one is a few hundred bytes. */
export const OAUTH_MAX_BODY_BYTES = 16 * 1024;

const BASIC_CHALLENGE = { "www-authenticate": 'Basic realm="buildly"' };

/**
 * The token endpoint takes form bodies (as OAuth2 clients send) and JSON. The body is read
 * against the limit as it streams, so a large one costs no more than the limit (413).
 */
async function readParams(c: Context<GatewayEnv>): Promise<Record<string, string>> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded" && type !== "application/json") {
    throw new OAuthError("invalid_request", "Send application/x-www-form-urlencoded or application/json.");
  }
  let text: string;
  try {
    text = await readTextLimited(c.req.raw, OAUTH_MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof ApiError && err.status === 413) {
      throw new OAuthError("invalid_request", `The request body is larger than ${OAUTH_MAX_BODY_BYTES} bytes.`, 413);
    }
    throw err;
  }
  if (type === "application/x-www-form-urlencoded") {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      if (k in out) throw new OAuthError("invalid_request", `The parameter ${k} is repeated.`);
      out[k] = v;
    }
    return out;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OAuthError("invalid_request", "The request body is not valid JSON.");
  }
  const r = z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).safeParse(parsed);
  if (!r.success) throw new OAuthError("invalid_request", "The JSON body must be an object of string parameters.");
  return r.data;
}

/** One form-urlencoded component (RFC 6749 2.3.1 form-urlencodes id and secret before Base64); undefined if malformed. */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/**
 * `Basic <base64(urlencode(id):urlencode(secret))>` (RFC 7617, RFC 6749 2.3.1). Anything else
 * (bad Base64, bytes that are not UTF-8, no colon, an empty part, bad percent-encoding) is
 * undefined: the caller answers invalid_client.
 */
function parseBasic(credentials: string): { id: string; secret: string } | undefined {
  let binary: string;
  try {
    binary = atob(credentials.trim());
  } catch {
    return undefined;
  }
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const i = decoded.indexOf(":");
  if (i < 0) return undefined;
  const id = formDecode(decoded.slice(0, i));
  const secret = formDecode(decoded.slice(i + 1));
  return id && secret ? { id, secret } : undefined;
}

/** RFC 6749 2.3.1: HTTP Basic (preferred) or client_id/client_secret in the body. */
function clientCredentials(c: Context<GatewayEnv>, params: Record<string, string>) {
  const header = c.req.header("authorization")?.trim();
  const basic = header ? /^basic(?:\s+|$)/i.exec(header) : null;
  if (header && basic) {
    const creds = parseBasic(header.slice(basic[0].length));
    if (!creds) throw new OAuthError("invalid_client", "Malformed Basic credentials.", 401, BASIC_CHALLENGE);
    return { ...creds, basic: true };
  }
  if (params.client_id && params.client_secret) return { id: params.client_id, secret: params.client_secret, basic: false };
  return undefined;
}

function tokenResponse(body: Record<string, unknown>, requestId: string): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache", "x-request-id": requestId },
  });
}

/**
 * The password grant (legacy: OAuth 2.1 drops it; use the authorization code flow). A client_id,
 * if sent, must name an active client of the user's organization allowed this grant (else
 * invalid_client); without one the token is issued to the organization's console client.
 */
async function passwordGrant(c: Context<GatewayEnv>, params: Record<string, string>) {
  const { username, password } = params;
  if (!username || !password) throw new OAuthError("invalid_request", "username and password are required.");
  const scope = grantScope("password", params.scope);
  const creds = clientCredentials(c, params);
  let named: ClientRow | undefined;
  if (creds || params.client_id || params.client_assertion) {
    named = await authenticateClient(c, params, { allowPublic: true });
    if (!named.grant_types.includes("password")) throw new OAuthError("unauthorized_client", "This client may not use the password grant.");
  }
  // The attempt is reserved before the password is looked at: N sent at once get exactly the limit.
  const attempt = await reservePasswordAttempt(c.env, username);
  if (!attempt.allowed) {
    throw new OAuthError("invalid_grant", `Too many failed logins for this account. Retry in ${attempt.retryAfter} seconds.`, 429, {
      "retry-after": String(attempt.retryAfter),
    });
  }
  const user = await findUserByEmail(c.env.DB, username);
  // The same PBKDF2 work whether or not the account exists.
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.status !== "active" || (named && named.organization_id !== user.organization_id)) {
    // An attempt on an existing account goes to its organization's trail (an unknown email has no organization).
    if (user) {
      await recordLogin(c, "identity.login.failed", systemActor(c.get("requestId")), user, {
        grant_type: "password",
        method: "password",
        reason: !ok ? "wrong_password" : user.status !== "active" ? "inactive" : "other_organization",
      });
    }
    throw new OAuthError("invalid_grant", "The email or password is wrong.");
  }
  await attempt.succeeded();
  const cfg = authConfig(c.env, c.req.url);
  if (!emailVerifiedEnough(c.env, cfg.issuer, user)) {
    throw new OAuthError("invalid_grant", "The email address is not verified yet: use the token from the verification mail (POST /v1/auth/verify-email).");
  }
  // An organization that requires single sign-on refuses passwords, except its administrators' (break-glass).
  const policy = await passwordSignInPolicy(c.env.DB, user);
  if (!policy.allowed) {
    await recordLogin(c, "identity.login.failed", systemActor(c.get("requestId")), user, {
      grant_type: "password",
      method: "password",
      reason: "sso_required",
    });
    throw new OAuthError("invalid_grant", policy.reason);
  }
  // A password alone is not enough for an account with a second factor, or an admin whose organization requires one.
  const second = await secondFactorState(c.env.DB, user);
  if (second.enrolled || second.required) {
    await recordLogin(c, "identity.login.failed", systemActor(c.get("requestId")), user, {
      grant_type: "password",
      method: "password",
      reason: "second_factor_required",
    });
    throw new OAuthError(
      "invalid_grant",
      second.enrolled
        ? "This account signs in with a second factor: use the authorization code flow (the hosted login page)."
        : "This organization requires administrators to use a second factor: sign in on the hosted login page to set one up.",
    );
  }
  const client = named ?? (await consoleClient(c.env.DB, user.organization_id));
  await recordLogin(c, "identity.login.succeeded", { ...systemActor(c.get("requestId")), actortype: "user", actorid: user.id }, user, {
    grant_type: "password",
    method: "password",
    client_id: client.id,
    ...(policy.breakGlass ? { break_glass: true } : {}),
  });
  const roleNames = await roleNamesOf(c.env.DB, user.id);
  const access = await issueAccessToken(c.env.DB, cfg, {
    subject: user.id,
    organization_id: user.organization_id,
    roles: roleNames,
    scope,
    client_id: client.id,
    amr: ["pwd"],
  });
  const body: Record<string, unknown> = { access_token: access, token_type: "Bearer", expires_in: cfg.accessTtl, scope };
  if (scope.split(" ").includes("offline_access")) {
    body.refresh_token = await issueRefreshToken(c.env.DB, cfg, {
      user_id: user.id,
      organization_id: user.organization_id,
      scope,
      client_id: named?.id ?? null,
      amr: ["pwd"],
    });
  }
  // A named client asking for openid gets an ID token (its audience); the legacy anonymous form has no one to address it to.
  if (named && scope.split(" ").includes("openid")) {
    body.id_token = await issueIdToken(c.env.DB, cfg, {
      subject: user.id,
      client_id: named.id,
      auth_time: Math.floor(Date.now() / 1000),
      amr: ["pwd"],
      organization_id: user.organization_id,
    });
  }
  return body;
}

/**
 * grant_type=authorization_code (RFC 6749 4.1.3, RFC 7636 4.5): the code is spent first (once,
 * whatever follows), then it must belong to this client and redirect URI and match the PKCE
 * verifier. A public client authenticates by PKCE alone; a confidential one also by its secret
 * or private_key_jwt.
 */
async function authorizationCodeGrant(c: Context<GatewayEnv>, params: Record<string, string>) {
  const client = await authenticateClient(c, params, { allowPublic: true });
  if (!client.grant_types.includes("authorization_code")) throw new OAuthError("unauthorized_client", "This client may not use the authorization code grant.");
  const { code, redirect_uri, code_verifier } = params;
  if (!code) throw new OAuthError("invalid_request", "code is required.");
  if (!redirect_uri) throw new OAuthError("invalid_request", "redirect_uri is required.");
  if (!code_verifier) throw new OAuthError("invalid_request", "code_verifier is required (PKCE with S256).");
  const spent = await redeemCode(c.env.DB, code);
  if (!spent.ok) {
    const why = {
      unknown: "is not known",
      expired: "has expired",
      replayed: "was already used; every token issued from it is now revoked",
    }[spent.reason];
    throw new OAuthError("invalid_grant", `The authorization code ${why}.`);
  }
  const grant = spent.row;
  if (grant.client_id !== client.id) throw new OAuthError("invalid_grant", "The authorization code was issued to another client.");
  if (grant.redirect_uri !== redirect_uri) throw new OAuthError("invalid_grant", "redirect_uri differs from the authorization request's.");
  if (!(await pkceMatches(code_verifier, grant.code_challenge))) throw new OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.");
  const user = await db(c.env.DB).select().from(users).where(eq(users.id, grant.user_id)).get();
  if (user?.status !== "active" || user.organization_id !== grant.organization_id) throw new OAuthError("invalid_grant", "The account is not active.");
  const cfg = authConfig(c.env, c.req.url);
  const roleNames = await roleNamesOf(c.env.DB, user.id);
  const access = await issueAccessToken(c.env.DB, cfg, {
    subject: user.id,
    organization_id: user.organization_id,
    roles: roleNames,
    scope: grant.scope,
    client_id: client.id,
    grant: grant.id,
    amr: grant.amr,
  });
  const body: Record<string, unknown> = { access_token: access, token_type: "Bearer", expires_in: cfg.accessTtl, scope: grant.scope };
  const scopes = grant.scope.split(" ");
  if (scopes.includes("offline_access") && client.grant_types.includes("refresh_token")) {
    body.refresh_token = await issueRefreshToken(c.env.DB, cfg, {
      user_id: user.id,
      organization_id: user.organization_id,
      scope: grant.scope,
      family_id: grant.id,
      client_id: client.id,
      amr: grant.amr,
    });
  }
  if (scopes.includes("openid")) {
    body.id_token = await issueIdToken(c.env.DB, cfg, {
      subject: user.id,
      client_id: client.id,
      auth_time: grant.auth_time,
      nonce: grant.nonce,
      amr: grant.amr,
      organization_id: user.organization_id,
    });
  }
  return body;
}

async function refreshGrant(c: Context<GatewayEnv>, params: Record<string, string>) {
  if (!params.refresh_token) throw new OAuthError("invalid_request", "refresh_token is required.");
  const result = await consumeRefreshToken(c.env.DB, params.refresh_token, c.get("requestId"));
  if (!result.ok && result.reason === "reused") relaySoon(c);
  if (!result.ok) {
    const why = { unknown: "is not known", expired: "has expired", revoked: "was revoked", reused: "was already used; its family is now revoked" }[
      result.reason
    ];
    throw new OAuthError("invalid_grant", `The refresh token ${why}.`);
  }
  // A refresh token issued to a client is refreshed by that client only (public: by client_id).
  let clientId = result.client_id;
  if (clientId) {
    const client = await authenticateClient(c, params, { allowPublic: true });
    if (client.id !== clientId) throw new OAuthError("invalid_grant", "The refresh token was issued to another client.");
  }
  const user = await db(c.env.DB).select().from(users).where(eq(users.id, result.user_id)).get();
  if (user?.status !== "active") throw new OAuthError("invalid_grant", "The account is not active.");
  clientId ??= (await consoleClient(c.env.DB, user.organization_id)).id;
  // Refresh tokens from before scopes were enforced carry the legacy name; read it as it was meant.
  const had = currentScope(result.scope);
  let scope = had;
  if (params.scope) {
    // RFC 6749 section 6: a refresh may narrow the scope, never widen it.
    const asked = grantScope("password", params.scope);
    if (asked.split(" ").some((s) => !had.split(" ").includes(s))) throw new OAuthError("invalid_scope", "A refresh cannot widen the scope.");
    scope = asked;
  }
  const cfg = authConfig(c.env, c.req.url);
  const roleNames = await roleNamesOf(c.env.DB, user.id);
  const access = await issueAccessToken(c.env.DB, cfg, {
    subject: user.id,
    organization_id: user.organization_id,
    roles: roleNames,
    scope,
    client_id: clientId,
    ...(result.client_id ? { grant: result.family_id } : {}),
    amr: result.amr ?? undefined,
  });
  const refresh = await issueRefreshToken(c.env.DB, cfg, {
    user_id: user.id,
    organization_id: user.organization_id,
    scope: had,
    family_id: result.family_id,
    client_id: result.client_id,
    amr: result.amr,
  });
  return { access_token: access, token_type: "Bearer", expires_in: cfg.accessTtl, refresh_token: refresh, scope };
}

async function recordClientFailure(c: Context<GatewayEnv>, params: Record<string, string>, client: ClientRow, reason: string) {
  await recordLogin(
    c,
    "identity.login.failed",
    systemActor(c.get("requestId")),
    { id: client.id, organization_id: client.organization_id },
    { grant_type: params.grant_type ?? null, reason },
  );
}

/**
 * Authenticates the client of a token request: HTTP Basic or client_secret_post (a secret),
 * private_key_jwt (RFC 7523 client_assertion), or, with `allowPublic`, a bare client_id naming
 * a public client. Anything else is invalid_client.
 */
async function authenticateClient(c: Context<GatewayEnv>, params: Record<string, string>, opts: { allowPublic?: boolean } = {}): Promise<ClientRow> {
  if (params.client_assertion_type || params.client_assertion) {
    const client = await verifyClientAssertion(c, params);
    if (client.status !== "active") {
      await recordClientFailure(c, params, client, "inactive");
      throw new OAuthError("invalid_client", "Client authentication failed.");
    }
    return client;
  }
  const creds = clientCredentials(c, params);
  const challenge: Record<string, string> = creds?.basic ? BASIC_CHALLENGE : {};
  if (!creds) {
    if (opts.allowPublic && params.client_id) {
      const client = await findClient(c.env.DB, params.client_id);
      if (client?.status === "active" && client.client_type === "public") return client;
      if (client?.status === "active")
        throw new OAuthError(
          "invalid_client",
          "This client is confidential: authenticate it (client_secret_basic, client_secret_post or private_key_jwt).",
          401,
          BASIC_CHALLENGE,
        );
      throw new OAuthError("invalid_client", "Unknown client.", 401, BASIC_CHALLENGE);
    }
    throw new OAuthError("invalid_client", "Client authentication is required.", 401, BASIC_CHALLENGE);
  }
  const client = await findClient(c.env.DB, creds.id);
  const given = new TextEncoder().encode(await sha256Hex(creds.secret));
  const stored = new TextEncoder().encode(client?.secret_hash ?? "0".repeat(64));
  const secretOk = constantTimeEqual(given, stored);
  if (!secretOk || !client || client.status !== "active" || client.client_type === "public" || client.token_endpoint_auth_method === "private_key_jwt") {
    if (client) await recordClientFailure(c, params, client, client.status !== "active" ? "inactive" : "wrong_secret");
    throw new OAuthError("invalid_client", "Client authentication failed.", 401, challenge);
  }
  return client;
}

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** The longest an assertion may live; its jti is remembered this long. */
const ASSERTION_MAX_SECONDS = 600;

/** private_key_jwt (RFC 7523 2.2, OIDC Core 9): signed by a key of the client's registered JWKS, once. */
async function verifyClientAssertion(c: Context<GatewayEnv>, params: Record<string, string>): Promise<ClientRow> {
  const fail = (why: string) => new OAuthError("invalid_client", `Client authentication failed: ${why}.`);
  if (params.client_assertion_type !== ASSERTION_TYPE) throw fail(`client_assertion_type must be ${ASSERTION_TYPE}`);
  const assertion = params.client_assertion;
  if (!assertion) throw fail("client_assertion is missing");
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(assertion);
  } catch {
    throw fail("client_assertion is not a JWT");
  }
  const id = typeof claims.sub === "string" ? claims.sub : "";
  if (params.client_id && params.client_id !== id) throw fail("client_id differs from the assertion's subject");
  const client = await findClient(c.env.DB, id);
  if (client?.token_endpoint_auth_method !== "private_key_jwt" || !client.jwks) throw fail("the client does not use private_key_jwt");
  const cfg = authConfig(c.env, c.req.url);
  let payload: ReturnType<typeof decodeJwt>;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks as JSONWebKeySet), {
      algorithms: CLIENT_ASSERTION_ALGS,
      issuer: client.id,
      subject: client.id,
      audience: [cfg.issuer, `${cfg.issuer}/v1/auth/token`],
      clockTolerance: CLOCK_SKEW_SECONDS,
      maxTokenAge: ASSERTION_MAX_SECONDS,
      requiredClaims: ["exp", "jti", "iat"],
    }));
  } catch {
    await recordClientFailure(c, params, client, "bad_assertion");
    throw fail("the assertion's signature or claims are not valid");
  }
  const exp = Number(payload.exp);
  if (exp - Date.now() / 1000 > ASSERTION_MAX_SECONDS) throw fail(`the assertion must expire within ${ASSERTION_MAX_SECONDS} seconds`);
  // Each assertion once: its jti is kept until it could no longer be accepted anyway.
  const fresh = await db(c.env.DB)
    .insert(clientAssertions)
    .values({ jti_hash: await sha256Hex(`${client.id}|${payload.jti}`), expires_at: new Date((exp + CLOCK_SKEW_SECONDS) * 1000).toISOString() })
    .onConflictDoNothing()
    .returning({ jti_hash: clientAssertions.jti_hash })
    .get();
  if (!fresh) throw fail("this assertion was already used");
  return client;
}

async function clientCredentialsGrant(c: Context<GatewayEnv>, params: Record<string, string>) {
  const client = await authenticateClient(c, params);
  if (!client.grant_types.includes("client_credentials")) throw new OAuthError("unauthorized_client", "This client may not use the client_credentials grant.");
  await requireSponsor(c, client);
  await recordLogin(c, "identity.login.succeeded", { ...systemActor(c.get("requestId")), actortype: "client", actorid: client.id }, client, {
    grant_type: "client_credentials",
  });
  const cfg = authConfig(c.env, c.req.url);
  const scope = grantScope("client_credentials", params.scope);
  const access = await issueAccessToken(c.env.DB, cfg, {
    subject: client.id,
    organization_id: client.organization_id,
    roles: client.roles,
    scope,
    client_id: client.id,
  });
  // RFC 6749 4.4.3: no refresh token for client credentials.
  return { access_token: access, token_type: "Bearer", expires_in: cfg.accessTtl, scope };
}

/** A machine client acts for whoever created it: once that admin is demoted or deactivated, it stops. */
async function requireSponsor(c: Context<GatewayEnv>, client: ClientRow) {
  if (!(await sponsorIsAdmin(c.env.DB, client.organization_id, client.created_by))) {
    throw new OAuthError(
      "invalid_client",
      "The administrator who created this client no longer is one; an administrator must create a new client.",
      401,
      clientCredentials(c, {})?.basic ? BASIC_CHALLENGE : {},
    );
  }
}

/** POST /v1/auth/token (RFC 6749). */
export async function tokenEndpoint(c: Context<GatewayEnv>): Promise<Response> {
  try {
    const params = await readParams(c);
    let body: Record<string, unknown>;
    switch (params.grant_type) {
      case "password":
        body = await passwordGrant(c, params);
        break;
      case "refresh_token":
        body = await refreshGrant(c, params);
        break;
      case "client_credentials":
        body = await clientCredentialsGrant(c, params);
        break;
      case "authorization_code":
        body = await authorizationCodeGrant(c, params);
        break;
      case undefined:
        throw new OAuthError("invalid_request", "grant_type is required.");
      default:
        throw new OAuthError("unsupported_grant_type", `The grant type ${params.grant_type} is not supported.`);
    }
    return tokenResponse(body, c.get("requestId"));
  } catch (err) {
    if (err instanceof OAuthError) return err.toResponse(c.get("requestId"));
    throw err;
  }
}

/** POST /v1/auth/revoke (RFC 7009): 200 whether or not the token was known. */
export async function revocationEndpoint(c: Context<GatewayEnv>): Promise<Response> {
  try {
    const params = await readParams(c);
    if (!params.token) throw new OAuthError("invalid_request", "token is required.");
    if (clientCredentials(c, params) || params.client_assertion) {
      const client = await authenticateClient(c, params);
      if (client.grant_types.includes("client_credentials")) await requireSponsor(c, client);
    }
    const looksLikeJwt = params.token.split(".").length === 3;
    if (looksLikeJwt || params.token_type_hint === "access_token") {
      // Access tokens are short-lived JWTs that are not tracked; say so, as RFC 7009 2.2.1 allows.
      if (looksLikeJwt) throw new OAuthError("unsupported_token_type", "Access tokens cannot be revoked; they expire on their own.");
    }
    await revokeRefreshToken(c.env.DB, params.token, actorOf(c));
    relaySoon(c);
    return new Response(null, { status: 200, headers: { "cache-control": "no-store", "x-request-id": c.get("requestId") } });
  } catch (err) {
    if (err instanceof OAuthError) return err.toResponse(c.get("requestId"));
    throw err;
  }
}
