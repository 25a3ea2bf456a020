import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "@buildly/shared";
import { authConfig } from "./config";
import { effectivePermissions, isAdmin, organizationRoles } from "./rbac";
import { InvalidTokenError, verifyAccessToken, type Principal } from "./tokens";
import { principalActive } from "./principal-status";
import { serviceRegistry } from "../upstream/registry";
import type { GatewayEnv } from "../types";

function unauthorized(detail: string, error?: "invalid_token"): ApiError {
  const challenge = error ? `Bearer realm="buildly", error="${error}", error_description="${detail}"` : `Bearer realm="buildly"`;
  return new ApiError(401, detail, { headers: { "www-authenticate": challenge } });
}

const BEARER = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i;

/** Verifies the bearer token and sets `principal` and the effective permissions; throws 401. */
async function verify(c: Context<GatewayEnv>): Promise<Principal> {
  const header = c.req.header("authorization");
  const match = header ? BEARER.exec(header.trim()) : null;
  if (!match) throw unauthorized(header ? "The Authorization header is not a Bearer token." : "This call needs an access token.");
  const cfg = authConfig(c.env, c.req.url);
  let principal: Principal;
  try {
    principal = await verifyAccessToken(c.env.DB, cfg, match[1]!);
  } catch (err) {
    if (err instanceof InvalidTokenError) throw unauthorized(err.message, "invalid_token");
    throw err;
  }
  if (!(await principalActive(c.env.DB, principal, cfg.issuer))) {
    throw unauthorized("The account behind this token is no longer active.", "invalid_token");
  }
  const services = serviceRegistry(c.env).map((s) => s.name);
  const defs = await organizationRoles(c.env.DB, principal.organization_id);
  c.set("principal", principal);
  c.set("permissions", effectivePermissions(defs, principal.roles, services));
  return principal;
}

/** Requires a valid bearer token (verified once per request, whoever asks first). */
export const authenticate: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  if (!c.get("principal")) await verify(c);
  await next();
};

/** The principal if the request carries a valid bearer token, else undefined (no error). */
export async function tryAuthenticate(c: Context<GatewayEnv>): Promise<Principal | undefined> {
  const existing = c.get("principal");
  if (existing) return existing;
  if (!c.req.header("authorization")?.trim().match(/^Bearer\s/i)) return undefined;
  try {
    return await verify(c);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

/** Only the organization's admins (users or clients holding the admin role). */
export const requireAdmin: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const principal = c.get("principal");
  if (!principal || !isAdmin(principal.roles)) throw new ApiError(403, "Only an administrator of this organization may do this.");
  await next();
};

export function currentPrincipal(c: Context<GatewayEnv>) {
  const p = c.get("principal");
  if (!p) throw new ApiError(401, "This call needs an access token.");
  return p;
}
