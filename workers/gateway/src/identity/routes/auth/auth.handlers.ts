import type { RouteHandler } from "@hono/zod-openapi";
import { and, eq, gt, isNull } from "drizzle-orm";
import { ApiError, isUniqueViolation, newId, nowIso } from "@buildly/shared";
import {
  createOrganizationWithAdmin,
  emailTaken,
  findUser,
  findUserByEmail,
  publicUser,
  roleNamesOf,
} from "../../accounts";
import { hashPassword, randomToken, sha256Hex, verifyPassword } from "../../crypto";
import { revokeUserRefreshTokens } from "../../tokens";
import { db } from "../../db/client";
import { invitations, organizations, passwordResets, userRoles, users } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import { deliverPending, enqueueMail } from "../../mail-outbox";
import type { GatewayEnv } from "../../../types";
import type * as routes from "./auth.routes";

const RESET_TTL_MS = 60 * 60 * 1000;

async function organizationOf(d1: D1Database, id: string) {
  const org = await db(d1).select().from(organizations).where(eq(organizations.id, id)).get();
  if (!org) throw new ApiError(404, "No such organization.");
  return org;
}

export const register: RouteHandler<typeof routes.register, GatewayEnv> = async (c) => {
  const input = c.req.valid("json");
  const password_hash = await hashPassword(input.password);
  if ("organization_name" in input) {
    const { organization_id, user_id } = await createOrganizationWithAdmin(c.env.DB, {
      organization_name: input.organization_name,
      email: input.email,
      name: input.name,
      password_hash,
    });
    const user = (await findUser(c.env.DB, organization_id, user_id))!;
    return c.json({ user: publicUser(user, ["admin"]), organization: await organizationOf(c.env.DB, organization_id) }, 201);
  }

  // Joining with an invitation: the token is single-use, claimed by a conditional update.
  const d = db(c.env.DB);
  const now = nowIso();
  const claimed = await d
    .update(invitations)
    .set({ accepted_at: now })
    .where(and(eq(invitations.token_hash, await sha256Hex(input.invitation_token)), isNull(invitations.accepted_at), gt(invitations.expires_at, now)))
    .returning()
    .get();
  if (!claimed) throw new ApiError(400, "The invitation is unknown, used or expired.", { errors: [{ path: "invitation_token", message: "Invalid invitation" }] });
  const userId = newId();
  try {
    await d.batch([
      d.insert(users).values({
        id: userId,
        organization_id: claimed.organization_id,
        email: claimed.email,
        name: input.name,
        password_hash,
        status: "active",
        created_at: now,
        updated_at: now,
      }),
      d.insert(userRoles).values({ user_id: userId, role_id: claimed.role_id }),
    ]);
  } catch (err) {
    // Give the invitation back: the account could not be created.
    await d.update(invitations).set({ accepted_at: null }).where(eq(invitations.id, claimed.id));
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
  const user = (await findUser(c.env.DB, claimed.organization_id, userId))!;
  return c.json(
    { user: publicUser(user, await roleNamesOf(c.env.DB, userId)), organization: await organizationOf(c.env.DB, claimed.organization_id) },
    201,
  );
};

export const me: RouteHandler<typeof routes.me, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  const organization = await organizationOf(c.env.DB, p.organization_id);
  let user = null;
  if (p.kind === "user") {
    const row = await findUser(c.env.DB, p.organization_id, p.subject);
    if (row) user = publicUser(row, await roleNamesOf(c.env.DB, row.id));
  }
  return c.json(
    { kind: p.kind, user, client_id: p.kind === "client" ? p.subject : null, organization, roles: p.roles, permissions: c.get("permissions") ?? {} },
    200,
  );
};

export const changePassword: RouteHandler<typeof routes.changePassword, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  if (p.kind !== "user") throw new ApiError(403, "Only users have passwords.");
  const { current_password, new_password } = c.req.valid("json");
  const user = await findUser(c.env.DB, p.organization_id, p.subject);
  if (!user || !(await verifyPassword(current_password, user.password_hash))) {
    throw new ApiError(400, "The current password is wrong.", { errors: [{ path: "current_password", message: "Wrong password" }] });
  }
  await db(c.env.DB).update(users).set({ password_hash: await hashPassword(new_password), updated_at: nowIso() }).where(eq(users.id, user.id));
  await revokeUserRefreshTokens(c.env.DB, user.id);
  return c.body(null, 204);
};

export const requestPasswordReset: RouteHandler<typeof routes.requestPasswordReset, GatewayEnv> = async (c) => {
  const { email } = c.req.valid("json");
  const user = await findUserByEmail(c.env.DB, email);
  if (user && user.status === "active") {
    const token = randomToken(32);
    await db(c.env.DB)
      .insert(passwordResets)
      .values({ id: newId(), user_id: user.id, token_hash: await sha256Hex(token), expires_at: new Date(Date.now() + RESET_TTL_MS).toISOString(), created_at: nowIso() });
    await enqueueMail(c.env.DB, {
      to: user.email,
      subject: "Reset your Buildly password",
      body: `Use this token within one hour to set a new password: ${token}\nPOST /v1/auth/password-reset/confirm {"token": "...", "new_password": "..."}`,
    });
    c.executionCtx.waitUntil(deliverPending(c.env).catch(() => undefined));
  }
  // The same answer either way: the endpoint does not reveal which emails have accounts.
  return c.body(null, 202);
};

export const confirmPasswordReset: RouteHandler<typeof routes.confirmPasswordReset, GatewayEnv> = async (c) => {
  const { token, new_password } = c.req.valid("json");
  const d = db(c.env.DB);
  const now = nowIso();
  const reset = await d
    .update(passwordResets)
    .set({ used_at: now })
    .where(and(eq(passwordResets.token_hash, await sha256Hex(token)), isNull(passwordResets.used_at), gt(passwordResets.expires_at, now)))
    .returning()
    .get();
  if (!reset) throw new ApiError(400, "The reset token is unknown, used or expired.", { errors: [{ path: "token", message: "Invalid token" }] });
  await d.update(users).set({ password_hash: await hashPassword(new_password), updated_at: now }).where(eq(users.id, reset.user_id));
  await revokeUserRefreshTokens(c.env.DB, reset.user_id);
  return c.body(null, 204);
};

