import { and, eq, gt, isNull } from "drizzle-orm";
import { ApiError, newId, nowIso } from "@buildly/shared";
import { db } from "./db/client";
import { emailVerifications, users, type UserRow } from "./db/schema";
import { randomToken, sha256Hex } from "./crypto";
import { deliverPending, enqueueMail } from "./mail-outbox";

/**
 * Platform-wide sign-up settings (vars, set by whoever runs the platform):
 * SELF_REGISTRATION "on" (default) | "off": whether anyone may create an organization with
 * POST /v1/auth/register (joining with an invitation always works).
 * EMAIL_VERIFICATION "on" | "off" | unset: whether a self-registered account must prove its
 * email before it signs in. Unset: on, except when the gateway is served over plain http on
 * loopback (local development).
 */

function setting(env: Env, name: string): string {
  const v: unknown = Reflect.get(env, name);
  return typeof v === "string" ? v.trim().toLowerCase() : "";
}

export function selfRegistrationOpen(env: Env): boolean {
  return setting(env, "SELF_REGISTRATION") !== "off";
}

export function emailVerificationRequired(env: Env, issuer: string): boolean {
  const v = setting(env, "EMAIL_VERIFICATION");
  if (v === "on") return true;
  if (v === "off") return false;
  const u = new URL(issuer);
  return !(u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname));
}

/** Whether this account may sign in now as far as its email is concerned. */
export function emailVerifiedEnough(env: Env, issuer: string, user: UserRow): boolean {
  return Boolean(user.email_verified_at) || !emailVerificationRequired(env, issuer);
}

const VERIFY_TTL_MS = 24 * 3600 * 1000;

/** Mails a verification token (valid 24 h) to an account whose email is not verified yet. */
export async function mailVerificationToken(env: Env, user: UserRow, issuer: string): Promise<void> {
  if (user.email_verified_at || user.status !== "active") return;
  const token = randomToken(32);
  await db(env.DB)
    .insert(emailVerifications)
    .values({
      id: newId(),
      user_id: user.id,
      token_hash: await sha256Hex(token),
      expires_at: new Date(Date.now() + VERIFY_TTL_MS).toISOString(),
      created_at: nowIso(),
    });
  await enqueueMail(env.DB, {
    to: user.email,
    subject: "Confirm your email for Buildly",
    body: `Confirm this address within 24 hours with this token: ${token}\nPOST /v1/auth/verify-email {"token": "..."}\nor in your browser: ${issuer}/v1/auth/verify-email?token=${token}`,
  });
  await deliverPending(env);
}

/** Spends a verification token and marks the address verified; 400 if it is unknown, used or expired. */
export async function verifyEmail(d1: D1Database, token: string): Promise<void> {
  const d = db(d1);
  const now = nowIso();
  const spent = await d
    .update(emailVerifications)
    .set({ used_at: now })
    .where(and(eq(emailVerifications.token_hash, await sha256Hex(token)), isNull(emailVerifications.used_at), gt(emailVerifications.expires_at, now)))
    .returning({ user_id: emailVerifications.user_id })
    .get();
  if (!spent) throw new ApiError(400, "The verification token is unknown, used or expired.", { errors: [{ path: "token", message: "Invalid token" }] });
  await d
    .update(users)
    .set({ email_verified_at: now, updated_at: now })
    .where(and(eq(users.id, spent.user_id), isNull(users.email_verified_at)));
}
