import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, count, eq, sql, type SQL } from "drizzle-orm";
import { ApiError, PERMISSION_ACTIONS, decodeCursor, isUniqueViolation, newId, nowIso, paginate, afterCursor } from "@buildly/shared";
import { ALL_SERVICES, PRIVACY, WORKFLOWS, forgetOrganizationRoles } from "../../rbac";
import { db } from "../../db/client";
import { clients, roles, userRoles, type Permissions, type RoleRow } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import { serviceRegistry } from "../../../upstream/registry";
import type { GatewayEnv } from "../../../types";
import { actorOf, gatewayEvent, outboxInsert, relaySoon } from "../../../events";
import type * as routes from "./roles.routes";

const notFound = () => new ApiError(404, "No role of this organization has this id.");
const builtinRole = (name: string) => new ApiError(409, `The built-in role ${name} cannot be changed or deleted.`);

function toRole(r: RoleRow) {
  return { id: r.id, name: r.name, permissions: r.permissions, builtin: r.builtin, created_at: r.created_at, updated_at: r.updated_at };
}

/**
 * Service keys must be "*", registered services, `workflows` (the gateway's own workflows count
 * as one more service for permissions) or `privacy` (subject requests); actions are de-duplicated and put in canonical order.
 */
function checkedPermissions(env: Env, input: Record<string, string[]>): Permissions {
  const known = [...serviceRegistry(env).map((s) => s.name), WORKFLOWS, PRIVACY];
  const unknown = Object.keys(input).filter((k) => k !== ALL_SERVICES && !known.includes(k));
  if (unknown.length) {
    throw new ApiError(422, `No service named ${unknown.join(", ")}. Use "${ALL_SERVICES}" or one of: ${known.join(", ")}.`, {
      errors: unknown.map((k) => ({ path: `permissions.${k}`, message: "Unknown service" })),
    });
  }
  return Object.fromEntries(Object.entries(input).map(([k, actions]) => [k, PERMISSION_ACTIONS.filter((a) => actions.includes(a))]));
}

async function existingRole(d1: D1Database, organizationId: string, id: string): Promise<RoleRow> {
  const role = await db(d1)
    .select()
    .from(roles)
    .where(and(eq(roles.id, id), eq(roles.organization_id, organizationId)))
    .get();
  if (!role) throw notFound();
  return role;
}

function heldByUser(roleId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM user_roles AS ur WHERE ur.role_id = ${roleId})`;
}

/** Clients name their roles in a JSON array. */
function heldByActiveClient(organizationId: string, name: string): SQL {
  return sql`EXISTS (SELECT 1 FROM clients AS cl, json_each(cl.roles) AS j
    WHERE cl.organization_id = ${organizationId} AND cl.status = 'active' AND j.value = ${name})`;
}

export const list: RouteHandler<typeof routes.listRoles, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const rows = await db(c.env.DB)
    .select()
    .from(roles)
    .where(and(eq(roles.organization_id, organization_id), afterCursor(roles.created_at, roles.id, after)))
    .orderBy(asc(roles.created_at), asc(roles.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toRole), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createRole, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  const now = nowIso();
  const row: RoleRow = {
    id: newId(),
    organization_id,
    name: input.name,
    permissions: checkedPermissions(c.env, input.permissions),
    builtin: false,
    created_at: now,
    updated_at: now,
  };
  const d = db(c.env.DB);
  try {
    const event = gatewayEvent(actorOf(c), "identity.role.created", { subject: row.id, organizationid: organization_id, data: toRole(row) });
    await d.batch([d.insert(roles).values(row), outboxInsert(d, event)]);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ApiError(409, `This organization already has a role named ${input.name}.`, { errors: [{ path: "name", message: "Already taken" }] });
    }
    throw err;
  }
  relaySoon(c);
  forgetOrganizationRoles(organization_id);
  c.header("location", `/v1/roles/${row.id}`);
  return c.json(toRole(row), 201);
};

export const get: RouteHandler<typeof routes.getRole, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  return c.json(toRole(await existingRole(c.env.DB, organization_id, c.req.valid("param").id)), 200);
};

export const update: RouteHandler<typeof routes.updateRole, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const role = await existingRole(c.env.DB, organization_id, c.req.valid("param").id);
  if (role.builtin) throw builtinRole(role.name);
  const permissions = checkedPermissions(c.env, c.req.valid("json").permissions);
  const now = nowIso();
  const d = db(c.env.DB);
  const event = gatewayEvent(actorOf(c), "identity.role.updated", {
    subject: role.id,
    organizationid: organization_id,
    data: { ...toRole({ ...role, permissions, updated_at: now }), previous_permissions: role.permissions },
  });
  const [updated] = await d.batch([
    d
      .update(roles)
      .set({ permissions, updated_at: now })
      .where(and(eq(roles.id, role.id), eq(roles.organization_id, organization_id), eq(roles.builtin, false)))
      .returning(),
    outboxInsert(d, event, { onlyIfChanged: true }),
  ]);
  const row = updated[0];
  if (!row) throw notFound();
  relaySoon(c);
  forgetOrganizationRoles(organization_id);
  return c.json(toRole(row), 200);
};

export const remove: RouteHandler<typeof routes.deleteRole, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const role = await existingRole(c.env.DB, organization_id, c.req.valid("param").id);
  if (role.builtin) throw builtinRole(role.name);
  const d = db(c.env.DB);
  const event = gatewayEvent(actorOf(c), "identity.role.deleted", {
    subject: role.id,
    organizationid: organization_id,
    data: { id: role.id, name: role.name, permissions: role.permissions },
  });
  // Unused is a condition of the delete itself, so a concurrent grant cannot slip in between.
  // Invitations to the role go with it (ON DELETE CASCADE).
  const [removed] = await d.batch([
    d
      .delete(roles)
      .where(
        and(
          eq(roles.id, role.id),
          eq(roles.organization_id, organization_id),
          eq(roles.builtin, false),
          sql`NOT ${heldByUser(role.id)}`,
          sql`NOT ${heldByActiveClient(organization_id, role.name)}`,
        ),
      )
      .returning({ id: roles.id }),
    outboxInsert(d, event, { onlyIfChanged: true }),
  ]);
  if (!removed.length) {
    const users = (await d.select({ n: count() }).from(userRoles).where(eq(userRoles.role_id, role.id)).get())?.n ?? 0;
    const machines =
      (
        await d
          .select({ n: count() })
          .from(clients)
          .where(
            and(
              eq(clients.organization_id, organization_id),
              eq(clients.status, "active"),
              sql`EXISTS (SELECT 1 FROM json_each(${clients.roles}) AS j WHERE j.value = ${role.name})`,
            ),
          )
          .get()
      )?.n ?? 0;
    throw new ApiError(409, `The role ${role.name} is still held by ${users} user(s) and ${machines} active client(s). Take it from them first.`);
  }
  relaySoon(c);
  forgetOrganizationRoles(organization_id);
  return c.body(null, 204);
};
