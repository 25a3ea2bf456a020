import { and, count, eq, isNull } from "drizzle-orm";
import { nowIso } from "@buildly/shared";
import { db } from "../db/client";
import { sha256Hex } from "../crypto";
import { recoveryCodes } from "./schema";

/**
 * Recovery codes: ten per enrollment, shown once, each good for one sign-in. Each is 16
 * characters of Crockford base32, 80 random bits, so they are stored as plain SHA-256: a slow
 * hash (PBKDF2, as for passwords) protects secrets people choose, which are few enough to try
 * one by one; 2^80 candidates per code cannot be tried at any hash speed, and the per-account
 * login throttle bounds online guessing as well.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // 32 symbols: 5 bits of each byte (256 is a multiple of 32, so no bias).
  const chars = [...bytes].map((b) => ALPHABET[b % 32]).join("");
  return chars.match(/.{4}/g)!.join("-");
}

/** What the user typed, as stored: upper case, no separators or spaces; I, L and O read as 1, 1 and 0. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const s = input.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(s) ? s : undefined;
}

/** Replaces the user's recovery codes with a fresh set; the codes are returned once and kept only hashed. */
export async function newRecoveryCodes(d1: D1Database, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  const now = nowIso();
  const d = db(d1);
  const rows = await Promise.all(
    codes.map(async (code) => ({ code_hash: await sha256Hex(normalizeRecoveryCode(code)!), user_id: userId, used_at: null, created_at: now })),
  );
  await d.batch([d.delete(recoveryCodes).where(eq(recoveryCodes.user_id, userId)), d.insert(recoveryCodes).values(rows)]);
  return codes;
}

/** Spends one of the user's recovery codes: true exactly once per code (a conditional UPDATE). */
export async function useRecoveryCode(d1: D1Database, userId: string, input: string): Promise<boolean> {
  const code = normalizeRecoveryCode(input);
  if (!code) return false;
  const won = await db(d1)
    .update(recoveryCodes)
    .set({ used_at: nowIso() })
    .where(and(eq(recoveryCodes.code_hash, await sha256Hex(code)), eq(recoveryCodes.user_id, userId), isNull(recoveryCodes.used_at)))
    .returning({ code_hash: recoveryCodes.code_hash })
    .get();
  return Boolean(won);
}

export async function recoveryCodesLeft(d1: D1Database, userId: string): Promise<number> {
  const row = await db(d1)
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.user_id, userId), isNull(recoveryCodes.used_at)))
    .get();
  return row?.n ?? 0;
}

export async function dropRecoveryCodes(d1: D1Database, userId: string): Promise<void> {
  await db(d1).delete(recoveryCodes).where(eq(recoveryCodes.user_id, userId));
}
