import { and, eq, inArray } from "drizzle-orm";
import { ApiError, isUniqueViolation, newId, nowIso, type PlatformEvent } from "@buildly/shared";
import { outboxInsert } from "../events/emit";
import { db } from "./db/client";
import { clients, organizations, roles, userRoles, users, type UserRow } from "./db/schema";
import { consoleClientRow } from "./signin/app-clients";
import { BUILTIN_ROLES } from "./rbac";

/**
 * The one spelling of an email the platform keys on: stored accounts, lookups, login
 * throttling and invitations all go through this, so no variant (surrounding whitespace,
 * case, composed or decomposed characters) reaches an account under another key.
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFC").toLowerCase().normalize("NFC");
}

export function emailTaken(): ApiError {
  return new ApiError(409, "An account with this email already exists.", { errors: [{ path: "email", message: "Already registered" }] });
}

/** A new organization, its three built-in roles, its first user as admin and its console client, in one transaction. */
export async function createOrganizationWithAdmin(
  d1: D1Database,
  input: { organization_name: string; email: string; name: string; password_hash: string; email_verified?: boolean },
  /** The event of this registration, written in the same batch (given the new ids). */
  event?: (ids: { organization_id: string; user_id: string }) => PlatformEvent,
) {
  const now = nowIso();
  const orgId = newId();
  const userId = newId();
  const roleIds = Object.fromEntries(Object.keys(BUILTIN_ROLES).map((r) => [r, newId()])) as Record<keyof typeof BUILTIN_ROLES, string>;
  const consoleClient = await consoleClientRow(orgId, now);
  const d = db(d1);
  try {
    await d.batch([
      d.insert(organizations).values({ id: orgId, name: input.organization_name, settings: {}, created_at: now, updated_at: now }),
      d.insert(roles).values(
        Object.entries(BUILTIN_ROLES).map(([name, permissions]) => ({
          id: roleIds[name as keyof typeof BUILTIN_ROLES],
          organization_id: orgId,
          name,
          permissions,
          builtin: true,
          created_at: now,
          updated_at: now,
        })),
      ),
      d.insert(users).values({
        id: userId,
        organization_id: orgId,
        email: input.email,
        name: input.name,
        password_hash: input.password_hash,
        status: "active",
        created_at: now,
        updated_at: now,
        email_verified_at: input.email_verified === false ? null : now,
      }),
      d.insert(userRoles).values({ user_id: userId, role_id: roleIds.admin }),
      // Every organization has the platform's own console client.
      d.insert(clients).values(consoleClient),
      ...(event ? [outboxInsert(d, event({ organization_id: orgId, user_id: userId }))] : []),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
  return { organization_id: orgId, user_id: userId, console_client_id: consoleClient.id };
}

export async function findUserByEmail(d1: D1Database, email: string): Promise<UserRow | undefined> {
  return db(d1)
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)))
    .get();
}

export async function findUser(d1: D1Database, organizationId: string, userId: string): Promise<UserRow | undefined> {
  return db(d1)
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.organization_id, organizationId)))
    .get();
}

export async function roleNamesOf(d1: D1Database, userId: string): Promise<string[]> {
  const rows = await db(d1).select({ name: roles.name }).from(userRoles).innerJoin(roles, eq(roles.id, userRoles.role_id)).where(eq(userRoles.user_id, userId));
  return rows.map((r) => r.name).sort();
}

/** Role rows of an organization by name; unknown names are a 422. */
export async function rolesByName(d1: D1Database, organizationId: string, names: string[]) {
  if (names.length === 0) return [];
  const rows = await db(d1)
    .select()
    .from(roles)
    .where(and(eq(roles.organization_id, organizationId), inArray(roles.name, names)));
  const missing = names.filter((n) => !rows.some((r) => r.name === n));
  if (missing.length) {
    throw new ApiError(422, `No role named ${missing.join(", ")} in this organization.`, {
      errors: missing.map((m) => ({ path: "roles", message: `Unknown role ${m}` })),
    });
  }
  return rows;
}

export function publicUser(u: UserRow, roleNames: string[]) {
  return { id: u.id, email: u.email, name: u.name, status: u.status, roles: roleNames, created_at: u.created_at, updated_at: u.updated_at };
}
