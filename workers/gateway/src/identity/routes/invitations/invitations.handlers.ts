import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { ApiError, decodeCursor, newId, nowIso, paginate, afterCursor } from "@buildly/shared";
import { emailTaken, findUserByEmail } from "../../accounts";
import { randomToken, sha256Hex } from "../../crypto";
import { db } from "../../db/client";
import { invitations, roles } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import type { GatewayEnv } from "../../../types";
import { actorOf, identityEvent, outboxInsert, relaySoon } from "../../../events";
import type * as routes from "./invitations.routes";

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export const create: RouteHandler<typeof routes.createInvitation, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  const input = c.req.valid("json");
  const role = await db(c.env.DB)
    .select({ id: roles.id, name: roles.name })
    .from(roles)
    .where(and(eq(roles.organization_id, p.organization_id), eq(roles.name, input.role)))
    .get();
  if (!role) {
    throw new ApiError(422, `No role named ${input.role} in this organization.`, { errors: [{ path: "role", message: `Unknown role ${input.role}` }] });
  }
  // Registration would fail on the unique email anyway; say so now, while the admin is here.
  if (await findUserByEmail(c.env.DB, input.email)) throw emailTaken();

  const token = randomToken();
  const now = new Date();
  const row = {
    id: newId(),
    organization_id: p.organization_id,
    email: input.email,
    role_id: role.id,
    token_hash: await sha256Hex(token),
    expires_at: new Date(now.getTime() + INVITATION_TTL_MS).toISOString(),
    created_by: p.subject,
    created_at: now.toISOString(),
  };
  const d = db(c.env.DB);
  // Never the token: only its holder may see it.
  const event = identityEvent(actorOf(c), "identity.user.invited", {
    subject: row.id,
    organizationid: p.organization_id,
    data: { id: row.id, email: row.email, role: role.name, expires_at: row.expires_at, created_at: row.created_at },
  });
  await d.batch([d.insert(invitations).values(row), outboxInsert(d, event)]);
  relaySoon(c);
  c.header("cache-control", "no-store");
  return c.json({ id: row.id, email: row.email, role: role.name, token, expires_at: row.expires_at, created_at: row.created_at }, 201);
};

export const list: RouteHandler<typeof routes.listInvitations, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const rows = await db(c.env.DB)
    .select({
      id: invitations.id,
      email: invitations.email,
      role: roles.name,
      expires_at: invitations.expires_at,
      created_at: invitations.created_at,
    })
    .from(invitations)
    .innerJoin(roles, eq(roles.id, invitations.role_id))
    .where(
      and(
        eq(invitations.organization_id, organization_id),
        isNull(invitations.accepted_at),
        gt(invitations.expires_at, nowIso()),
        afterCursor(invitations.created_at, invitations.id, after),
      ),
    )
    .orderBy(asc(invitations.created_at), asc(invitations.id))
    .limit(limit + 1);
  return c.json(
    paginate(rows, limit, (r) => r.created_at),
    200,
  );
};
