import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, inArray, not, notInArray, or, sql, type SQL } from "drizzle-orm";
import { ApiError, decodeCursor, isUniqueViolation, newId, nowIso, paginate, afterCursor } from "@buildly/shared";
import { emailTaken, findUser, publicUser, roleNamesOf, rolesByName } from "../../accounts";
import { hashPassword } from "../../crypto";
import { ADMIN_ROLE } from "../../rbac";
import { revokeUserRefreshTokens } from "../../tokens";
import { endUserSessions } from "../../signin/sessions";
import { forgetOrganizationPrincipals } from "../../principal-status";
import { assertPasswordAllowed } from "../../password-policy";
import { db } from "../../db/client";
import { roles, userRoles, users, type UserRow } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import type { GatewayEnv } from "../../../types";
import { actorOf, identityEvent, outboxInsert, relaySoon } from "../../../events";
import type { EventActor } from "@buildly/shared";
import type * as routes from "./users.routes";

const notFound = () => new ApiError(404, "No user of this organization has this id.");
const lastAdmin = () => new ApiError(409, "This would leave the organization without an active admin. Make another user admin first.");
const selfDeactivation = () => new ApiError(409, "You cannot deactivate your own account; another admin can.");

// The admin rules are conditions of the writes themselves (not a read before them), so two
// admins demoting each other at the same moment cannot both succeed.

/** Some active user of the organization other than `userId` holds the admin role. */
function anotherActiveAdmin(organizationId: string, userId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM user_roles AS ur JOIN roles AS r ON r.id = ur.role_id JOIN users AS u ON u.id = ur.user_id
    WHERE r.organization_id = ${organizationId} AND r.name = ${ADMIN_ROLE} AND u.status = 'active' AND u.id <> ${userId})`;
}

function holdsAdmin(userId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM user_roles AS ur JOIN roles AS r ON r.id = ur.role_id WHERE ur.user_id = ${userId} AND r.name = ${ADMIN_ROLE})`;
}

function isActive(userId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM users AS u WHERE u.id = ${userId} AND u.status = 'active')`;
}

async function roleNamesByUser(d1: D1Database, userIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  const rows = await db(d1)
    .select({ user_id: userRoles.user_id, name: roles.name })
    .from(userRoles)
    .innerJoin(roles, eq(roles.id, userRoles.role_id))
    .where(inArray(userRoles.user_id, userIds));
  for (const r of rows) out.get(r.user_id)?.push(r.name);
  for (const names of out.values()) names.sort();
  return out;
}

async function existingUser(d1: D1Database, organizationId: string, id: string): Promise<UserRow> {
  const user = await findUser(d1, organizationId, id);
  if (!user) throw notFound();
  return user;
}

/** Deactivates `user` and revokes its refresh tokens; refuses the caller itself and the last active admin. */
async function deactivate(d1: D1Database, actor: EventActor, callerId: string | undefined, user: UserRow, extra: { name?: string } = {}): Promise<UserRow> {
  if (callerId === user.id) throw selfDeactivation();
  const d = db(d1);
  const event = identityEvent(actor, "identity.user.deactivated", {
    subject: user.id,
    organizationid: user.organization_id,
    data: { id: user.id, email: user.email, name: extra.name ?? user.name, status: "deactivated" },
  });
  const update = d
    .update(users)
    .set({ ...extra, status: "deactivated", updated_at: nowIso() })
    .where(
      and(
        eq(users.id, user.id),
        eq(users.organization_id, user.organization_id),
        or(eq(users.status, "deactivated"), not(holdsAdmin(user.id)), anotherActiveAdmin(user.organization_id, user.id)),
      ),
    )
    .returning();
  const [rows] = await d.batch([update, outboxInsert(d, event, { onlyIfChanged: true })]);
  const row = rows[0];
  if (!row) throw lastAdmin();
  await revokeUserRefreshTokens(d1, user.id);
  await endUserSessions(d1, user.id);
  // The user, and every client it created, stops on the next request here (elsewhere within the cache's TTL).
  forgetOrganizationPrincipals(user.organization_id);
  return row;
}

export const list: RouteHandler<typeof routes.listUsers, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor, status } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const rows = await db(c.env.DB)
    .select()
    .from(users)
    .where(and(eq(users.organization_id, organization_id), status ? eq(users.status, status) : undefined, afterCursor(users.created_at, users.id, after)))
    .orderBy(asc(users.created_at), asc(users.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  const names = await roleNamesByUser(
    c.env.DB,
    page.data.map((u) => u.id),
  );
  return c.json({ data: page.data.map((u) => publicUser(u, names.get(u.id) ?? [])), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createUser, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  await assertPasswordAllowed(input.password, input.email, "password");
  const granted = await rolesByName(c.env.DB, organization_id, [...new Set(input.roles)]);
  const now = nowIso();
  const row: UserRow = {
    id: newId(),
    organization_id,
    email: input.email,
    name: input.name,
    password_hash: await hashPassword(input.password),
    status: "active",
    created_at: now,
    updated_at: now,
    // An administrator vouches for the address of an account they create.
    email_verified_at: now,
  };
  const d = db(c.env.DB);
  try {
    const event = identityEvent(actorOf(c), "identity.user.created", {
      subject: row.id,
      organizationid: organization_id,
      data: publicUser(row, granted.map((r) => r.name).sort()),
    });
    await d.batch([d.insert(users).values(row), d.insert(userRoles).values(granted.map((r) => ({ user_id: row.id, role_id: r.id }))), outboxInsert(d, event)]);
  } catch (err) {
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
  relaySoon(c);
  c.header("location", `/v1/users/${row.id}`);
  return c.json(publicUser(row, granted.map((r) => r.name).sort()), 201);
};

export const get: RouteHandler<typeof routes.getUser, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const user = await existingUser(c.env.DB, organization_id, c.req.valid("param").id);
  return c.json(publicUser(user, await roleNamesOf(c.env.DB, user.id)), 200);
};

export const update: RouteHandler<typeof routes.updateUser, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  const input = c.req.valid("json");
  const user = await existingUser(c.env.DB, p.organization_id, c.req.valid("param").id);
  const callerId = p.kind === "user" ? p.subject : undefined;
  let row: UserRow | undefined;
  if (input.status === "deactivated") {
    row = await deactivate(c.env.DB, actorOf(c), callerId, user, input.name !== undefined ? { name: input.name } : {});
  } else {
    const d = db(c.env.DB);
    const after = { ...user, ...input };
    const event = identityEvent(actorOf(c), "identity.user.updated", {
      subject: user.id,
      organizationid: p.organization_id,
      data: { id: user.id, email: after.email, name: after.name, status: after.status },
    });
    const [rows] = await d.batch([
      d
        .update(users)
        .set({ ...input, updated_at: nowIso() })
        .where(and(eq(users.id, user.id), eq(users.organization_id, p.organization_id)))
        .returning(),
      outboxInsert(d, event, { onlyIfChanged: true }),
    ]);
    row = rows[0];
    if (!row) throw notFound();
    // A reactivation counts at once too.
    forgetOrganizationPrincipals(p.organization_id);
  }
  relaySoon(c);
  return c.json(publicUser(row, await roleNamesOf(c.env.DB, row.id)), 200);
};

export const remove: RouteHandler<typeof routes.deleteUser, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  const user = await existingUser(c.env.DB, p.organization_id, c.req.valid("param").id);
  await deactivate(c.env.DB, actorOf(c), p.kind === "user" ? p.subject : undefined, user);
  relaySoon(c);
  return c.body(null, 204);
};

export const replaceRoles: RouteHandler<typeof routes.replaceUserRoles, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const user = await existingUser(c.env.DB, organization_id, c.req.valid("param").id);
  const names = [...new Set(c.req.valid("json").roles)];
  const wanted = await rolesByName(c.env.DB, organization_id, names);
  const wantedIds = wanted.map((r) => r.id);
  const d = db(c.env.DB);

  const held = await d
    .select({ id: roles.id, name: roles.name })
    .from(userRoles)
    .innerJoin(roles, eq(roles.id, userRoles.role_id))
    .where(eq(userRoles.user_id, user.id));
  const heldAdmin = held.find((r) => r.name === ADMIN_ROLE);
  const dropsAdmin = heldAdmin !== undefined && !names.includes(ADMIN_ROLE);
  if (dropsAdmin) {
    // Taken away first, by itself, and only while another active admin remains.
    const removed = await d
      .delete(userRoles)
      .where(and(eq(userRoles.user_id, user.id), eq(userRoles.role_id, heldAdmin.id), or(not(isActive(user.id)), anotherActiveAdmin(organization_id, user.id))))
      .returning()
      .get();
    if (!removed) throw lastAdmin();
  }
  try {
    await d.batch([
      d.delete(userRoles).where(and(eq(userRoles.user_id, user.id), notInArray(userRoles.role_id, wantedIds))),
      d
        .insert(userRoles)
        .values(wantedIds.map((role_id) => ({ user_id: user.id, role_id })))
        .onConflictDoNothing(),
      d.update(users).set({ updated_at: nowIso() }).where(eq(users.id, user.id)),
      outboxInsert(
        d,
        identityEvent(actorOf(c), "identity.user.roles_changed", {
          subject: user.id,
          organizationid: organization_id,
          data: { id: user.id, email: user.email, roles: wanted.map((r) => r.name).sort() },
        }),
      ),
    ]);
  } catch (err) {
    if (dropsAdmin) await d.insert(userRoles).values({ user_id: user.id, role_id: heldAdmin.id }).onConflictDoNothing();
    throw err;
  }
  // Roles come from the accounts, not the tokens: the change applies to the user's next request,
  // and to the clients and invitations the user made (they act only while their maker is an admin).
  forgetOrganizationPrincipals(organization_id);
  relaySoon(c);
  const fresh = (await findUser(c.env.DB, organization_id, user.id))!;
  return c.json(publicUser(fresh, await roleNamesOf(c.env.DB, user.id)), 200);
};
