import type { Context } from "hono";
import { z } from "zod";
import { eq } from "drizzle-orm";
import { ApiError, readTextLimited } from "@buildly/shared";
import { authConfig } from "../../config";
import { findUserByEmail, roleNamesOf } from "../../accounts";
import { DUMMY_PASSWORD_HASH, constantTimeEqual, sha256Hex, verifyPassword } from "../../crypto";
import { reservePasswordAttempt } from "../../login-guard";
import { OAuthError } from "../../oauth-errors";
import { sponsorIsAdmin } from "../../principal-status";
import { currentScope, grantScope } from "../../scopes";
import { consumeRefreshToken, issueAccessToken, issueRefreshToken, revokeRefreshToken } from "../../tokens";
import { db } from "../../db/client";
import { clients, users } from "../../db/schema";
import type { GatewayEnv } from "../../../types";
import type { EventActor } from "@buildly/shared";
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

async function passwordGrant(c: Context<GatewayEnv>, params: Record<string, string>) {
  const { username, password } = params;
  if (!username || !password) throw new OAuthError("invalid_request", "username and password are required.");
  const scope = grantScope("password", params.scope);
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
  if (!user || !ok || user.status !== "active") {
    // An attempt on an existing account goes to its organization's trail (an unknown email has no organization).
    if (user) {
      await recordLogin(c, "identity.login.failed", systemActor(c.get("requestId")), user, {
        grant_type: "password",
        reason: ok ? "inactive" : "wrong_password",
      });
    }
    throw new OAuthError("invalid_grant", "The email or password is wrong.");
  }
  await attempt.succeeded();
  await recordLogin(c, "identity.login.succeeded", { ...systemActor(c.get("requestId")), actortype: "user", actorid: user.id }, user, {
    grant_type: "password",
  });
  const cfg = authConfig(c.env, c.req.url);
  const roleNames = await roleNamesOf(c.env.DB, user.id);
  const access = await issueAccessToken(c.env.DB, cfg, { subject: user.id, organization_id: user.organization_id, roles: roleNames, scope });
  const body: Record<string, unknown> = { access_token: access, token_type: "Bearer", expires_in: cfg.accessTtl, scope };
  if (scope.split(" ").includes("offline_access")) {
    body.refresh_token = await issueRefreshToken(c.env.DB, cfg, { user_id: user.id, organization_id: user.organization_id, scope });
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
  const user = await db(c.env.DB).select().from(users).where(eq(users.id, result.user_id)).get();
  if (user?.status !== "active") throw new OAuthError("invalid_grant", "The account is not active.");
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
  const access = await issueAccessToken(c.env.DB, cfg, { subject: user.id, organization_id: user.organization_id, roles: roleNames, scope });
  const refresh = await issueRefreshToken(c.env.DB, cfg, {
    user_id: user.id,
    organization_id: user.organization_id,
    scope: had,
    family_id: result.family_id,
  });
  return { access_token: access, token_type: "Bearer", expires_in: cfg.accessTtl, refresh_token: refresh, scope };
}

async function authenticateClient(c: Context<GatewayEnv>, params: Record<string, string>) {
  const creds = clientCredentials(c, params);
  const challenge: Record<string, string> = creds?.basic ? BASIC_CHALLENGE : {};
  if (!creds) throw new OAuthError("invalid_client", "Client authentication is required.", 401, BASIC_CHALLENGE);
  const client = await db(c.env.DB).select().from(clients).where(eq(clients.id, creds.id)).get();
  const given = new TextEncoder().encode(await sha256Hex(creds.secret));
  const stored = new TextEncoder().encode(client?.secret_hash ?? "0".repeat(64));
  if (!constantTimeEqual(given, stored) || !client || client.status !== "active") {
    if (client) {
      await recordLogin(
        c,
        "identity.login.failed",
        systemActor(c.get("requestId")),
        { id: client.id, organization_id: client.organization_id },
        {
          grant_type: "client_credentials",
          reason: client.status !== "active" ? "inactive" : "wrong_secret",
        },
      );
    }
    throw new OAuthError("invalid_client", "Client authentication failed.", 401, challenge);
  }
  // A client acts for whoever created it: once that admin is demoted or deactivated, it stops.
  if (!(await sponsorIsAdmin(c.env.DB, client.organization_id, client.created_by))) {
    throw new OAuthError(
      "invalid_client",
      "The administrator who created this client no longer is one; an administrator must create a new client.",
      401,
      challenge,
    );
  }
  return client;
}

async function clientCredentialsGrant(c: Context<GatewayEnv>, params: Record<string, string>) {
  const client = await authenticateClient(c, params);
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
    if (clientCredentials(c, params)) await authenticateClient(c, params);
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
