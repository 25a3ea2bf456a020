import type { Context, MiddlewareHandler } from "hono";
import { ApiError, type IdentityContext, type PermissionAction, type RpcResult } from "@buildly/shared";
import { currentPrincipal } from "../identity/authenticate";
import { WORKFLOWS, effectivePermissions, organizationRoles } from "../identity/rbac";
import { identityFor } from "../upstream/identity-context";
import type { GatewayEnv } from "../types";
import type { Actor } from "./schemas";

/**
 * Workflows span services, so they count as one more service for permissions: a role's "*"
 * grant covers them (admin: everything, editor: create/read/update, viewer: read), as does a
 * "workflows" key in a custom role. Reading needs `read`, starting an instance `create`, taking a transition
 * that names no roles `update`. Templates are managed by admins only.
 */
export { WORKFLOWS };

export async function workflowPermissions(c: Context<GatewayEnv>): Promise<PermissionAction[]> {
  const principal = currentPrincipal(c);
  const defs = await organizationRoles(c.env.DB, principal.organization_id);
  return effectivePermissions(defs, principal.roles, [WORKFLOWS])[WORKFLOWS] ?? [];
}

export function requireWorkflowPermission(action: PermissionAction): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (!(await workflowPermissions(c)).includes(action)) throw new ApiError(403, `Your roles do not allow ${action} on workflows.`);
    await next();
  };
}

/** Who is calling, as an instance needs to know: to check a transition's roles, run actions as them, and record them. */
export interface Caller {
  identity: IdentityContext;
  actor: Actor;
  roles: string[];
  can_update: boolean;
}

export async function callerOf(c: Context<GatewayEnv>): Promise<Caller> {
  const principal = currentPrincipal(c);
  const identity = identityFor(c);
  return {
    identity,
    actor: { type: principal.kind, id: principal.subject },
    roles: principal.roles,
    can_update: (await workflowPermissions(c)).includes("update"),
  };
}

/** Every instance's Durable Object is named by its organization and id: another organization's id names an empty object. */
export function instanceStub(env: Env, organizationId: string, id: string) {
  return env.WORKFLOWS.getByName(`${organizationId}:${id}`);
}

/**
 * Failures cross RPC as values (thrown errors lose their fields); this turns one back into the
 * ApiError. `T` is named at the call: RPC's type mapping blurs the result's union.
 */
export function unwrap<T>(rpc: unknown): T {
  const result = rpc as RpcResult<T>;
  if (result.ok) return result.data;
  const { type, title, status, detail, request_id: _rid, errors, retry_after, ...extensions } = result.error;
  throw new ApiError(status, detail, {
    type,
    title,
    errors,
    extensions,
    headers: typeof retry_after === "string" ? { "retry-after": retry_after } : undefined,
  });
}
