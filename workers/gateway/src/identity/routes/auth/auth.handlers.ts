import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { ApiError, isUniqueViolation, logError, newId, nowIso } from "@buildly/shared";
import { createOrganizationWithAdmin, emailTaken, findUser, findUserByEmail, normalizeEmail, publicUser, roleNamesOf } from "../../accounts";
import { hashPassword, randomToken, sha256Hex, verifyPassword } from "../../crypto";
import { revokeUserRefreshTokens } from "../../tokens";
import { endUserSessions } from "../../signin/sessions";
import { consoleClient } from "../../signin/app-clients";
import { db } from "../../db/client";
import { invitations, organizations, passwordResets, roles, userRoles, users } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import { reservePasswordAttempt, tooManyPasswordAttempts } from "../../login-guard";
import { assertPasswordAllowed } from "../../password-policy";
import { sponsorIsAdmin } from "../../principal-status";
import { deliverPending, enqueueMail } from "../../mail-outbox";
import type { GatewayEnv } from "../../../types";
import { gatewayEvent, outboxInsert, relaySoon, userActor } from "../../../events";
import type * as routes from "./auth.routes";
import { authConfig } from "../../config";
import { emailVerificationRequired, mailVerificationToken, selfRegistrationOpen, verifyEmail } from "../../platform-settings";

const RESET_TTL_MS = 60 * 60 * 1000;

async function organizationOf(d1: D1Database, id: string) {
  const org = await db(d1).select().from(organizations).where(eq(organizations.id, id)).get();
  if (!org) throw new ApiError(404, "No such organization.");
  return org;
}

export const register: RouteHandler<typeof routes.register, GatewayEnv> = async (c) => {
  const input = c.req.valid("json");
  if ("organization_name" in input) {
    if (!selfRegistrationOpen(c.env)) {
      throw new ApiError(403, "Self-registration is off on this platform: ask an administrator of an organization for an invitation.");
    }
    await assertPasswordAllowed(input.password, input.email, "password");
    const { issuer } = authConfig(c.env, c.req.url);
    const verify = emailVerificationRequired(c.env, issuer);
    const { organization_id, user_id, console_client_id } = await createOrganizationWithAdmin(
      c.env.DB,
      {
        organization_name: input.organization_name,
        email: input.email,
        name: input.name,
        password_hash: await hashPassword(input.password),
        email_verified: !verify,
      },
      (ids) =>
        gatewayEvent(userActor(c, ids.user_id), "identity.user.registered", {
          subject: ids.user_id,
          organizationid: ids.organization_id,
          data: { id: ids.user_id, email: normalizeEmail(input.email), name: input.name, roles: ["admin"], organization_name: input.organization_name },
        }),
    );
    relaySoon(c);
    const user = (await findUser(c.env.DB, organization_id, user_id))!;
    if (verify) {
      const requestId = c.get("requestId");
      c.executionCtx.waitUntil(mailVerificationToken(c.env, user, issuer).catch((err) => logError(requestId, "gateway", err, { during: "verification mail" })));
    }
    return c.json(
      {
        user: publicUser(user, ["admin"]),
        organization: await organizationOf(c.env.DB, organization_id),
        console_client_id,
      },
      201,
    );
  }

  // Joining with an invitation: checked first (a refused password leaves it usable), then
  // claimed by a conditional update, so it is single-use.
  const d = db(c.env.DB);
  const now = nowIso();
  const tokenHash = await sha256Hex(input.invitation_token);
  const outstanding = and(eq(invitations.token_hash, tokenHash), isNull(invitations.accepted_at), gt(invitations.expires_at, now));
  const invitation = await d.select().from(invitations).where(outstanding).get();
  if (!invitation)
    throw new ApiError(400, "The invitation is unknown, used or expired.", { errors: [{ path: "invitation_token", message: "Invalid invitation" }] });
  // What the inviter could grant when inviting is not enough: they must still be an active admin now.
  if (!(await sponsorIsAdmin(c.env.DB, invitation.organization_id, invitation.created_by))) {
    throw new ApiError(400, "The invitation is no longer valid: whoever sent it is no longer an administrator of the organization.", {
      errors: [{ path: "invitation_token", message: "The inviter is no longer an administrator" }],
    });
  }
  await assertPasswordAllowed(input.password, invitation.email, "password");
  const password_hash = await hashPassword(input.password);
  const claimed = await d
    .update(invitations)
    .set({ accepted_at: now })
    .where(and(eq(invitations.id, invitation.id), outstanding))
    .returning()
    .get();
  if (!claimed)
    throw new ApiError(400, "The invitation is unknown, used or expired.", { errors: [{ path: "invitation_token", message: "Invalid invitation" }] });
  const userId = newId();
  const role = await d.select({ name: roles.name }).from(roles).where(eq(roles.id, claimed.role_id)).get();
  const accepted = gatewayEvent(userActor(c, userId), "identity.invitation.accepted", {
    subject: userId,
    organizationid: claimed.organization_id,
    data: { id: userId, invitation_id: claimed.id, email: claimed.email, name: input.name, roles: role ? [role.name] : [], invited_by: claimed.created_by },
  });
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
        // The invitation reached this address: it is verified.
        email_verified_at: now,
      }),
      d.insert(userRoles).values({ user_id: userId, role_id: claimed.role_id }),
      outboxInsert(d, accepted),
    ]);
  } catch (err) {
    // Give the invitation back: the account could not be created.
    await d.update(invitations).set({ accepted_at: null }).where(eq(invitations.id, claimed.id));
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
  relaySoon(c);
  const user = (await findUser(c.env.DB, claimed.organization_id, userId))!;
  return c.json(
    {
      user: publicUser(user, await roleNamesOf(c.env.DB, userId)),
      organization: await organizationOf(c.env.DB, claimed.organization_id),
      console_client_id: (await consoleClient(c.env.DB, claimed.organization_id)).id,
    },
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

/** Marks every outstanding reset token of the user used: a new password ends them all. */
function endResets(d1: D1Database, userId: string, now: string) {
  return db(d1)
    .update(passwordResets)
    .set({ used_at: now })
    .where(and(eq(passwordResets.user_id, userId), isNull(passwordResets.used_at)));
}

export const changePassword: RouteHandler<typeof routes.changePassword, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  if (p.kind !== "user") throw new ApiError(403, "Only users have passwords.");
  const { current_password, new_password } = c.req.valid("json");
  const wrong = () => new ApiError(400, "The current password is wrong.", { errors: [{ path: "current_password", message: "Wrong password" }] });
  const user = await findUser(c.env.DB, p.organization_id, p.subject);
  if (!user) throw wrong();
  await assertPasswordAllowed(new_password, user.email, "new_password");
  // Throttled like logins, on the same per-account counter, reserved before the check.
  const attempt = await reservePasswordAttempt(c.env, user.email);
  if (!attempt.allowed) throw tooManyPasswordAttempts(attempt.retryAfter);
  if (!(await verifyPassword(current_password, user.password_hash))) throw wrong();
  await attempt.succeeded();
  const now = nowIso();
  const d = db(c.env.DB);
  const changed = gatewayEvent(userActor(c, user.id), "identity.user.password_changed", {
    subject: user.id,
    organizationid: user.organization_id,
    data: { id: user.id, refresh_tokens_revoked: true },
  });
  await d.batch([
    d
      .update(users)
      .set({ password_hash: await hashPassword(new_password), updated_at: now })
      .where(eq(users.id, user.id)),
    outboxInsert(d, changed, { onlyIfChanged: true }),
  ]);
  relaySoon(c);
  await endResets(c.env.DB, user.id, now);
  await revokeUserRefreshTokens(c.env.DB, user.id);
  await endUserSessions(c.env.DB, user.id);
  return c.body(null, 204);
};

/** Mails a reset token if `email` belongs to an active account. */
export async function mailResetToken(env: Env, email: string, issuer?: string): Promise<void> {
  const user = await findUserByEmail(env.DB, email);
  if (user?.status !== "active") return;
  const token = randomToken(32);
  await db(env.DB)
    .insert(passwordResets)
    .values({
      id: newId(),
      user_id: user.id,
      token_hash: await sha256Hex(token),
      expires_at: new Date(Date.now() + RESET_TTL_MS).toISOString(),
      created_at: nowIso(),
    });
  await enqueueMail(env.DB, {
    to: user.email,
    subject: "Reset your Buildly password",
    body:
      `Use this token within one hour to set a new password: ${token}\nPOST /v1/auth/password-reset/confirm {"token": "...", "new_password": "..."}` +
      (issuer ? `\nor in your browser: ${issuer}/v1/auth/reset-password` : ""),
  });
  await deliverPending(env);
}

export const requestPasswordReset: RouteHandler<typeof routes.requestPasswordReset, GatewayEnv> = async (c) => {
  const { email } = c.req.valid("json");
  // Everything that depends on whether the account exists runs after the answer, so neither the
  // answer nor its timing tells whether the email has an account.
  const requestId = c.get("requestId");
  const issuer = authConfig(c.env, c.req.url).issuer;
  c.executionCtx.waitUntil(mailResetToken(c.env, email, issuer).catch((err) => logError(requestId, "gateway", err, { during: "password reset mail" })));
  return c.body(null, 202);
};

export const confirmPasswordReset: RouteHandler<typeof routes.confirmPasswordReset, GatewayEnv> = async (c) => {
  const { token, new_password } = c.req.valid("json");
  await resetPassword(c, token, new_password);
  return c.body(null, 204);
};

/** Sets a new password with a reset token (the API above and the hosted reset page); ApiError 400 or 422 otherwise. */
export async function resetPassword(c: Context<GatewayEnv>, token: string, new_password: string): Promise<void> {
  const d1 = c.env.DB;
  const d = db(d1);
  const now = nowIso();
  const invalid = () => new ApiError(400, "The reset token is unknown, used or expired.", { errors: [{ path: "token", message: "Invalid token" }] });
  const tokenHash = await sha256Hex(token);
  const pending = await d
    .select({ user_id: passwordResets.user_id, email: users.email, organization_id: users.organization_id })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.user_id))
    .where(and(eq(passwordResets.token_hash, tokenHash), isNull(passwordResets.used_at), gt(passwordResets.expires_at, now)))
    .get();
  if (!pending) throw invalid();
  // Checked before the token is spent, so a refused password leaves it usable.
  await assertPasswordAllowed(new_password, pending.email, "new_password");
  const password_hash = await hashPassword(new_password);
  // One statement spends this token and every other outstanding one of the account: of two
  // sibling tokens used at once, exactly one wins.
  const spent = await d
    .update(passwordResets)
    .set({ used_at: now })
    .where(
      and(
        eq(passwordResets.user_id, pending.user_id),
        isNull(passwordResets.used_at),
        sql`EXISTS (SELECT 1 FROM password_resets AS r WHERE r.token_hash = ${tokenHash} AND r.used_at IS NULL AND r.expires_at > ${now})`,
      ),
    )
    .returning({ token_hash: passwordResets.token_hash });
  if (!spent.some((r) => r.token_hash === tokenHash)) throw invalid();
  // The one who held the reset code acts; the event names neither the code nor the password.
  const reset = gatewayEvent(userActor(c, pending.user_id), "identity.user.password_reset", {
    subject: pending.user_id,
    organizationid: pending.organization_id,
    data: { id: pending.user_id, refresh_tokens_revoked: true },
  });
  await d.batch([
    d.update(users).set({ password_hash, updated_at: now }).where(eq(users.id, pending.user_id)),
    outboxInsert(d, reset, { onlyIfChanged: true }),
  ]);
  relaySoon(c);
  await revokeUserRefreshTokens(d1, pending.user_id);
  await endUserSessions(d1, pending.user_id);
}

export const confirmEmail: RouteHandler<typeof routes.confirmEmail, GatewayEnv> = async (c) => {
  await verifyEmail(c.env.DB, c.req.valid("json").token);
  return c.body(null, 204);
};

export const resendVerification: RouteHandler<typeof routes.resendVerification, GatewayEnv> = async (c) => {
  const { email } = c.req.valid("json");
  const { issuer } = authConfig(c.env, c.req.url);
  const requestId = c.get("requestId");
  // After the answer, like password resets: the answer does not tell whether the account exists.
  c.executionCtx.waitUntil(
    (async () => {
      const user = await findUserByEmail(c.env.DB, email);
      if (user) await mailVerificationToken(c.env, user, issuer);
    })().catch((err) => logError(requestId, "gateway", err, { during: "verification mail" })),
  );
  return c.body(null, 202);
};
