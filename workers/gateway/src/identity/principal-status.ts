import { and, eq } from "drizzle-orm";
import { db } from "./db/client";
import { clients, roles, userRoles, users } from "./db/schema";
import { ADMIN_ROLE } from "./rbac";
import { RefreshAheadCache } from "./refresh-ahead";
import type { Principal } from "./tokens";

/** What the account behind a token is now: whether it may act, and the roles it holds. */
export interface PrincipalState {
  active: boolean;
  roles: string[];
}

/**
 * The state of users and clients behind valid tokens, cached per isolate for a short while.
 * The access token's `roles` claim is never used for our own tokens: roles come from here, so
 * a role change or a deactivation takes effect at once in the isolate that made it (which
 * forgets its entries) and within STATE_CACHE_MS everywhere else (refreshed in the background
 * from half that age, so a steady caller does not wait on D1). Whatever can grant roles
 * (requireAdmin) reads with `fresh`, so granting power is never taken from a cache.
 */
const STATE_CACHE_MS = 10_000;
const cache = new RefreshAheadCache<{ organization_id: string; state: PrincipalState }>(STATE_CACHE_MS, 50_000);
const INACTIVE: PrincipalState = { active: false, roles: [] };

/** How many machine clients may stand between a client (or an invitation) and the admin who started the chain. */
const MAX_SPONSOR_CHAIN = 5;

async function loadUser(d1: D1Database, organizationId: string, userId: string): Promise<PrincipalState> {
  const rows = await db(d1)
    .select({ status: users.status, role: roles.name })
    .from(users)
    .leftJoin(userRoles, eq(userRoles.user_id, users.id))
    .leftJoin(roles, and(eq(roles.id, userRoles.role_id), eq(roles.organization_id, organizationId)))
    .where(and(eq(users.id, userId), eq(users.organization_id, organizationId)));
  if (rows[0]?.status !== "active") return INACTIVE;
  return { active: true, roles: rows.flatMap((r) => (r.role ? [r.role] : [])).sort() };
}

async function loadClient(d1: D1Database, organizationId: string, clientId: string): Promise<PrincipalState> {
  const row = await db(d1)
    .select({ status: clients.status, roles: clients.roles, created_by: clients.created_by })
    .from(clients)
    .where(and(eq(clients.id, clientId), eq(clients.organization_id, organizationId)))
    .get();
  if (row?.status !== "active") return INACTIVE;
  if (!(await sponsorIsAdmin(d1, organizationId, row.created_by))) return INACTIVE;
  return { active: true, roles: [...row.roles].sort() };
}

/**
 * Whether whoever created an invitation or a machine client may still grant roles: an active
 * user of the organization holding the admin role, or an active client holding it whose own
 * creator still may (followed up to MAX_SPONSOR_CHAIN links). Only admins create invitations
 * and clients, and an admin may grant any role, so this is the whole rule.
 */
export async function sponsorIsAdmin(d1: D1Database, organizationId: string, createdBy: string | null): Promise<boolean> {
  let id = createdBy;
  for (let link = 0; id && link <= MAX_SPONSOR_CHAIN; link++) {
    const user = await db(d1)
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, id), eq(users.organization_id, organizationId)))
      .get();
    if (user) {
      const state = await loadUser(d1, organizationId, id);
      return state.active && state.roles.includes(ADMIN_ROLE);
    }
    const client = await db(d1)
      .select({ status: clients.status, roles: clients.roles, created_by: clients.created_by })
      .from(clients)
      .where(and(eq(clients.id, id), eq(clients.organization_id, organizationId)))
      .get();
    if (client?.status !== "active" || !client.roles.includes(ADMIN_ROLE)) return false;
    id = client.created_by;
  }
  return false;
}

/** The current state of a token's principal; tokens of an external issuer answer for themselves. */
export async function principalState(
  d1: D1Database,
  p: Principal,
  ourIssuer: string,
  opts: { fresh?: boolean; waitUntil?: (p: Promise<unknown>) => void } = {},
): Promise<PrincipalState> {
  if (p.issuer !== ourIssuer) return { active: true, roles: p.roles };
  const load = async () => ({
    organization_id: p.organization_id,
    state: p.kind === "client" ? await loadClient(d1, p.organization_id, p.subject) : await loadUser(d1, p.organization_id, p.subject),
  });
  const entry = await cache.get(`${p.kind}:${p.subject}`, load, { ...opts, valid: (e) => e.organization_id === p.organization_id });
  return entry.state;
}

/**
 * Forgets every cached principal of an organization: after a user's roles or status change,
 * the clients that user created (directly or through other clients) may have changed too.
 */
export function forgetOrganizationPrincipals(organizationId: string): void {
  cache.forget((_, entry) => entry.organization_id === organizationId);
}
