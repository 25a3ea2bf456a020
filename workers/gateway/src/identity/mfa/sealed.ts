import { fromBase64Url } from "@buildly/shared";
import { db } from "../db/client";
import { sha256Hex } from "../crypto";
import { decryptText, encryptText } from "../sealing";
import { spentMfaTokens } from "./schema";

/**
 * Short-lived tokens the gateway hands out and takes back: WebAuthn challenges and the sign-in's
 * "password done, second factor next" step. Sealed with AES-GCM (identity/sealing.ts) under the
 * signing-keys secret, so they cannot be forged or altered and need no row until they are spent;
 * spending one inserts its hash (once: a second spend fails), so each works exactly once.
 */

export type TokenPurpose = "webauthn-register" | "webauthn-signin" | "signin-second-factor" | "signin-enroll";

export interface SealedClaims {
  purpose: TokenPurpose;
  /** The user it was issued to (absent for a passwordless sign-in's challenge). */
  uid?: string;
  /** The client the sign-in is for (sign-in steps). */
  cid?: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
  /** Randomness: every token differs (a WebAuthn challenge must be unpredictable). */
  n: string;
}

export async function sealToken(secret: string, claims: Omit<SealedClaims, "exp" | "n">, ttlSeconds: number): Promise<string> {
  const n = crypto.randomUUID();
  return encryptText(secret, JSON.stringify({ ...claims, exp: Date.now() + ttlSeconds * 1000, n }));
}

/** The claims if `token` is ours, of this purpose and not expired; otherwise undefined (never throws). */
export async function openToken(secret: string, purpose: TokenPurpose, token: string): Promise<SealedClaims | undefined> {
  if (token.length > 2000 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let claims: SealedClaims;
  try {
    claims = JSON.parse(await decryptText(secret, token)) as SealedClaims;
  } catch {
    return undefined;
  }
  if (claims.purpose !== purpose || typeof claims.exp !== "number" || claims.exp <= Date.now()) return undefined;
  return claims;
}

/** Marks a token spent; false if it already was (a replay, or a race lost). */
export async function spendToken(d1: D1Database, token: string, claims: SealedClaims): Promise<boolean> {
  const spent = await db(d1)
    .insert(spentMfaTokens)
    .values({ token_hash: await sha256Hex(token), expires_at: new Date(claims.exp).toISOString() })
    .onConflictDoNothing()
    .returning({ token_hash: spentMfaTokens.token_hash })
    .get();
  return Boolean(spent);
}

/**
 * The challenge a WebAuthn response answers, from its clientDataJSON: `raw` as the browser sent it
 * (base64url of the challenge's bytes, what the verifier compares) and `sealed`, the token it is.
 */
export function challengeFromClientData(clientDataJSON: unknown): { raw: string; sealed: string } | undefined {
  if (typeof clientDataJSON !== "string" || clientDataJSON.length > 4096) return undefined;
  try {
    const data = JSON.parse(new TextDecoder().decode(fromBase64Url(clientDataJSON))) as { challenge?: unknown };
    if (typeof data.challenge !== "string") return undefined;
    return { raw: data.challenge, sealed: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(data.challenge)) };
  } catch {
    return undefined;
  }
}

/** Daily: forgets spent tokens that could not be presented any more anyway. */
export async function sweepSpentTokens(d1: D1Database, now = Date.now()): Promise<void> {
  await d1.prepare("DELETE FROM spent_mfa_tokens WHERE expires_at < ?").bind(new Date(now).toISOString()).run();
}
