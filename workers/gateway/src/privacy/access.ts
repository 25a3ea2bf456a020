import type { Context, MiddlewareHandler } from "hono";
import { ApiError, type PermissionAction } from "@buildly/shared";
import { currentPrincipal } from "../identity/authenticate";
import { PRIVACY, isAdmin, organizationRoles } from "../identity/rbac";
import type { GatewayEnv } from "../types";

/**
 * Admins, or a role that names `privacy` explicitly (a "*" grant does not count: an editor may
 * not erase people). Roles are read from D1 (cached per isolate like every permission check).
 */
export async function allowsPrivacy(c: Context<GatewayEnv>, action: PermissionAction): Promise<boolean> {
  const principal = currentPrincipal(c);
  if (isAdmin(principal.roles)) return true;
  const defs = await organizationRoles(c.env.DB, principal.organization_id);
  return principal.roles.some((r) => defs.get(r)?.[PRIVACY]?.includes(action));
}

export function requirePrivacy(action: PermissionAction): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (!(await allowsPrivacy(c, action))) throw new ApiError(403, `Your roles do not allow ${action} on privacy.`);
    await next();
  };
}
