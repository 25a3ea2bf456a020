import type { MiddlewareHandler } from "hono";
import { ApiError, type PermissionAction } from "@buildly/shared";
import { currentPrincipal } from "../identity/authenticate";
import { PRIVACY, isAdmin, organizationRoles } from "../identity/rbac";
import type { GatewayEnv } from "../types";

/**
 * Admins, or a role that names `privacy` explicitly (a "*" grant does not count: an editor may
 * not erase people). Roles are read from D1 (cached per isolate like every permission check).
 */
export function requirePrivacy(action: PermissionAction): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const principal = currentPrincipal(c);
    if (!isAdmin(principal.roles)) {
      const defs = await organizationRoles(c.env.DB, principal.organization_id);
      const allowed = principal.roles.some((r) => defs.get(r)?.[PRIVACY]?.includes(action));
      if (!allowed) throw new ApiError(403, `Your roles do not allow ${action} on privacy requests.`);
    }
    await next();
  };
}
