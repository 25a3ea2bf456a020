import { eq } from "drizzle-orm";
import { PERMISSION_ACTIONS, type PermissionAction } from "@buildly/shared";
import { db } from "./db/client";
import { roles, type Permissions } from "./db/schema";
import { RefreshAheadCache } from "./refresh-ahead";

/** "*" stands for every service behind the gateway. */
export const ALL_SERVICES = "*";

/** The three roles every new organization gets. Admin also manages users, roles, clients and settings. */
export const BUILTIN_ROLES: Record<"admin" | "editor" | "viewer", Permissions> = {
  admin: { [ALL_SERVICES]: [...PERMISSION_ACTIONS] },
  editor: { [ALL_SERVICES]: ["create", "read", "update"] },
  viewer: { [ALL_SERVICES]: ["read"] },
};

export const ADMIN_ROLE = "admin";

/** The gateway's workflows count as one more service for permissions: a role may name them as it names a service. */
export const WORKFLOWS = "workflows";

/** Subject requests (src/privacy/): only an explicit `privacy` key grants them, never "*". */
export const PRIVACY = "privacy";

export function isAdmin(roleNames: string[]): boolean {
  return roleNames.includes(ADMIN_ROLE);
}

/** HTTP method -> the permission it needs on the target service. */
export function actionFor(method: string): PermissionAction | undefined {
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD":
      return "read";
    case "POST":
      return "create";
    case "PUT":
    case "PATCH":
      return "update";
    case "DELETE":
      return "delete";
    default:
      return undefined;
  }
}

/**
 * Role definitions of an organization, cached per isolate for a short while: a role change
 * is seen everywhere within ROLE_CACHE_MS (and at once by the isolate that made it).
 */
const ROLE_CACHE_MS = 10_000;
const roleCache = new RefreshAheadCache<Map<string, Permissions>>(ROLE_CACHE_MS, 10_000);

export async function organizationRoles(d1: D1Database, organizationId: string, waitUntil?: (p: Promise<unknown>) => void): Promise<Map<string, Permissions>> {
  const load = async () => {
    const rows = await db(d1).select({ name: roles.name, permissions: roles.permissions }).from(roles).where(eq(roles.organization_id, organizationId));
    return new Map(rows.map((r) => [r.name, r.permissions]));
  };
  return roleCache.get(organizationId, load, { waitUntil });
}

export function forgetOrganizationRoles(organizationId: string): void {
  roleCache.forget((key) => key === organizationId);
}

const expanded = new WeakMap<Map<string, Permissions>, Map<string, Record<string, PermissionAction[]>>>();

/** What the given roles allow on each service, "*" expanded to every registered service (memoized per role set). */
export function effectivePermissions(defs: Map<string, Permissions>, roleNames: string[], services: string[]): Record<string, PermissionAction[]> {
  let memo = expanded.get(defs);
  if (!memo) expanded.set(defs, (memo = new Map()));
  const key = `${roleNames.join(",")}|${services.join(",")}`;
  let out = memo.get(key);
  if (!out) memo.set(key, (out = computePermissions(defs, roleNames, services)));
  return out;
}

function computePermissions(defs: Map<string, Permissions>, roleNames: string[], services: string[]): Record<string, PermissionAction[]> {
  const out: Record<string, Set<PermissionAction>> = {};
  for (const s of services) out[s] = new Set();
  for (const name of roleNames) {
    const perms = defs.get(name);
    if (!perms) continue;
    for (const [service, actions] of Object.entries(perms)) {
      const targets = service === ALL_SERVICES ? services : services.includes(service) ? [service] : [];
      for (const t of targets) for (const a of actions) out[t]!.add(a);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([s, set]) => [s, PERMISSION_ACTIONS.filter((a) => set.has(a))]));
}
