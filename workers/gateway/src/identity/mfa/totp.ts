import { and, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import { nowIso } from "@buildly/shared";
import { db } from "../db/client";
import { decryptText, encryptText } from "../sealing";
import { totpFactors } from "./schema";

/**
 * TOTP (RFC 6238) with the `otpauth` library: SHA-1, 6 digits, 30-second steps, the parameters
 * every authenticator app understands. A code is accepted for the step before, the current step
 * and the step after (clock drift), and only once: the step of each accepted code is stored and
 * a code of that step or an earlier one is refused, so a code seen over a shoulder or in a log
 * cannot be replayed, even within its 30 seconds.
 */
export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
const WINDOW = 1;

/** otpauth builds its hash tables when its module runs: loaded on the first TOTP use, not at start-up. */
const otpauth = () => import("otpauth");

async function totpOf(base32: string, label = "") {
  const { Secret, TOTP } = await otpauth();
  return new TOTP({ issuer: "Buildly", label, algorithm: "SHA1", digits: TOTP_DIGITS, period: TOTP_PERIOD, secret: Secret.fromBase32(base32) });
}

/** The time step a code belongs to, or undefined when it matches none of the window. */
export async function codeStep(base32: string, code: string, now = Date.now()): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const totp = await totpOf(base32);
  const delta = totp.validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? undefined : totp.counter({ timestamp: now }) + delta;
}

export type TotpCheck = "ok" | "wrong" | "replayed" | "none";

/**
 * Checks a code against the user's confirmed (or, with `pending`, unconfirmed) authenticator and
 * spends its time step: of two requests with the same code exactly one wins (a conditional UPDATE).
 */
export async function useTotpCode(d1: D1Database, secret: string, userId: string, code: string, opts: { pending?: boolean } = {}): Promise<TotpCheck> {
  const d = db(d1);
  const row = await d
    .select()
    .from(totpFactors)
    .where(and(eq(totpFactors.user_id, userId), opts.pending ? isNull(totpFactors.confirmed_at) : isNotNull(totpFactors.confirmed_at)))
    .get();
  if (!row) return "none";
  const step = await codeStep(await decryptText(secret, row.secret_sealed), code.trim());
  if (step === undefined) return "wrong";
  const won = await d
    .update(totpFactors)
    .set({ last_used_step: step, ...(opts.pending ? { confirmed_at: nowIso() } : {}) })
    .where(
      and(
        eq(totpFactors.user_id, userId),
        eq(totpFactors.secret_sealed, row.secret_sealed),
        or(isNull(totpFactors.last_used_step), lt(totpFactors.last_used_step, step)),
      ),
    )
    .returning({ user_id: totpFactors.user_id })
    .get();
  return won ? "ok" : "replayed";
}

/**
 * Starts (or restarts) an enrollment: a new 160-bit secret, sealed at rest, unconfirmed until a
 * code from the app proves it was copied. Returns the secret and the otpauth:// URI (a QR code's content).
 */
export async function startTotpEnrollment(d1: D1Database, secret: string, user: { id: string; organization_id: string; email: string }) {
  const base32 = new (await otpauth()).Secret({ size: 20 }).base32;
  const sealed = await encryptText(secret, base32);
  const now = nowIso();
  await db(d1)
    .insert(totpFactors)
    .values({ user_id: user.id, organization_id: user.organization_id, secret_sealed: sealed, confirmed_at: null, last_used_step: null, created_at: now })
    .onConflictDoUpdate({
      target: totpFactors.user_id,
      set: { secret_sealed: sealed, organization_id: user.organization_id, created_at: now, last_used_step: null },
      // An enrolled authenticator is replaced only after it is disabled (with a fresh proof).
      setWhere: isNull(totpFactors.confirmed_at),
    });
  const row = await db(d1).select({ sealed: totpFactors.secret_sealed }).from(totpFactors).where(eq(totpFactors.user_id, user.id)).get();
  if (row?.sealed !== sealed) return undefined;
  return setupOf(base32, user.email);
}

async function setupOf(base32: string, email: string) {
  return { secret: base32, otpauth_uri: (await totpOf(base32, email)).toString(), algorithm: "SHA1" as const, digits: 6 as const, period: 30 as const };
}

/** The enrollment in progress (unconfirmed), to show its secret again after a wrong first code. */
export async function pendingTotpSetup(d1: D1Database, secret: string, user: { id: string; email: string }) {
  const row = await db(d1)
    .select({ sealed: totpFactors.secret_sealed })
    .from(totpFactors)
    .where(and(eq(totpFactors.user_id, user.id), isNull(totpFactors.confirmed_at)))
    .get();
  return row ? setupOf(await decryptText(secret, row.sealed), user.email) : undefined;
}

export async function totpEnrolled(d1: D1Database, userId: string): Promise<boolean> {
  const row = await db(d1)
    .select({ id: totpFactors.user_id })
    .from(totpFactors)
    .where(and(eq(totpFactors.user_id, userId), isNotNull(totpFactors.confirmed_at)))
    .get();
  return Boolean(row);
}
