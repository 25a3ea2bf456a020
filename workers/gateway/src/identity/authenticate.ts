import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "@buildly/shared";
import { authConfig } from "./config";
import { effectivePermissions, isAdmin, organizationRoles } from "./rbac";
import { InvalidTokenError, verifyAccessToken, type Principal } from "./tokens";
import { principalState, type PrincipalState } from "./principal-status";
import { grantRevoked } from "./signin/codes";
import { limitToScope, scopeAllows, scopeForMethod } from "./scopes";
import { serviceNames } from "../upstream/registry";
import { federatedBearer } from "./federation/bearer";
import type { GatewayEnv } from "../types";
import { requestSpan } from "../http/telemetry";

function unauthorized(detail: string, error?: "invalid_token"): ApiError {
  const challenge = error ? `Bearer realm="buildly", error="${error}", error_description="${detail}"` : `Bearer realm="buildly"`;
  return new ApiError(401, detail, { headers: { "www-authenticate": challenge } });
}

const inactive = () => unauthorized("The account behind this token is no longer active.", "invalid_token");

const BEARER = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i;

/** Whether the gateway issued this principal's token: only those carry our scopes and our accounts' roles. */
function ownToken(c: Context<GatewayEnv>, p: Principal): boolean {
  return p.issuer === authConfig(c.env, c.req.url).issuer;
}

/**
 * Sets `principal` with the roles its account holds now (never the token's claim, for our own
 * tokens) and the permissions those roles give, narrowed to the token's scope.
 */
function setPrincipal(c: Context<GatewayEnv>, token: Principal, state: PrincipalState, defs: Awaited<ReturnType<typeof organizationRoles>>) {
  const principal = { ...token, roles: state.roles };
  const services = serviceNames(c.env);
  const permissions = effectivePermissions(defs, principal.roles, services);
  c.set("principal", principal);
  c.set("permissions", limitToScope(permissions, principal.scope));
}

/** Verifies the bearer token and sets `principal` and the effective permissions; throws 401. */
/** The bearer token's check, as the request trace's `authenticate` span. */
function verify(c: Context<GatewayEnv>): Promise<Principal> {
  return requestSpan(c, "authenticate", {}, () => verifyBearer(c));
}

async function verifyBearer(c: Context<GatewayEnv>): Promise<Principal> {
  const header = c.req.header("authorization");
  const match = header ? BEARER.exec(header.trim()) : null;
  if (!match) throw unauthorized(header ? "The Authorization header is not a Bearer token." : "This call needs an access token.");
  const cfg = authConfig(c.env, c.req.url);
  let token: Principal;
  try {
    token = await verifyAccessToken(c.env.DB, cfg, match[1]!);
    // An external issuer's token: the organization's single sign-on rules (linked account or claim mapping).
    if (token.issuer !== cfg.issuer) token = await federatedBearer(c.env.DB, cfg, token);
  } catch (err) {
    if (err instanceof InvalidTokenError) throw unauthorized(err.message, "invalid_token");
    throw err;
  }
  // Both cached per isolate and refreshed in the background: no D1 wait after the first request.
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const [state, defs, revoked] = await Promise.all([
    principalState(c.env.DB, token, cfg.issuer, { waitUntil }),
    organizationRoles(c.env.DB, token.organization_id, waitUntil),
    token.grant ? grantRevoked(c.env.DB, token.grant, waitUntil) : false,
  ]);
  if (revoked) throw unauthorized("The grant this token was issued from was revoked.", "invalid_token");
  if (!state.active) throw inactive();
  setPrincipal(c, token, state, defs);
  return c.get("principal")!;
}

/**
 * 403 unless the token's scope allows the request's method: `read` for GET and HEAD, `write`
 * for the rest (RFC 6750 3.1 insufficient_scope). Tokens of external issuers too (their `scope`
 * or `scp` must name read or write), as federated sign-in's.
 */
function requireScopeForMethod(c: Context<GatewayEnv>, principal: Principal) {
  const needed = scopeForMethod(c.req.method);
  if (scopeAllows(principal.scope, needed === "read" ? "read" : "create")) return;
  throw new ApiError(403, `This token's scope does not include ${needed}, which ${c.req.method.toUpperCase()} needs.`, {
    headers: { "www-authenticate": `Bearer realm="buildly", error="insufficient_scope", scope="${needed}"` },
  });
}

/** Requires a valid bearer token (verified once per request, whoever asks first) whose scope allows the method. */
export const authenticate: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const principal = c.get("principal") ?? (await verify(c));
  requireScopeForMethod(c, principal);
  await next();
};

/** A valid bearer token with any scope: for GET /v1/auth/me (the userinfo endpoint), which `openid` alone may call. */
export const authenticateAnyScope: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  if (!c.get("principal")) await verify(c);
  await next();
};

/** The principal if the request carries a valid bearer token, else undefined (no error). */
export async function tryAuthenticate(c: Context<GatewayEnv>): Promise<Principal | undefined> {
  const existing = c.get("principal");
  if (existing) return existing;
  if (
    !c.req
      .header("authorization")
      ?.trim()
      .match(/^Bearer\s/i)
  )
    return undefined;
  try {
    return await verify(c);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

/**
 * Only the organization's admins (users or clients holding the admin role). Admin routes can
 * grant roles, so the roles are read from the database here, not from any cache: a demoted
 * admin is refused on the next request, in every isolate.
 */
export const requireAdmin: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  let principal = c.get("principal");
  if (principal && ownToken(c, principal)) {
    const [state, defs] = await Promise.all([
      principalState(c.env.DB, principal, principal.issuer, { fresh: true }),
      organizationRoles(c.env.DB, principal.organization_id),
    ]);
    if (!state.active) throw inactive();
    setPrincipal(c, principal, state, defs);
    principal = c.get("principal");
  }
  if (!principal || !isAdmin(principal.roles)) throw new ApiError(403, "Only an administrator of this organization may do this.");
  await next();
};

export function currentPrincipal(c: Context<GatewayEnv>) {
  const p = c.get("principal");
  if (!p) throw new ApiError(401, "This call needs an access token.");
  return p;
}
