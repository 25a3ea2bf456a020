import { and, eq, isNull } from "drizzle-orm";
import { SignJWT } from "jose";
import { newId, nowIso, toBase64Url } from "@buildly/shared";
import { db } from "../db/client";
import { authorizationCodes, refreshTokens, type AuthorizationCodeRow } from "../db/schema";
import type { AuthConfig } from "../config";
import { randomToken, sha256Hex } from "../crypto";
import { SIGNING_ALG, signingKey } from "../keys";
import { RefreshAheadCache } from "../refresh-ahead";
import { CLOCK_SKEW_SECONDS } from "../tokens";

/** Codes live this long (RFC 6749 4.1.2 recommends at most 10 minutes; one is plenty for a redirect). */
export const CODE_TTL_SECONDS = 60;
export const ACR_PASSWORD = "urn:buildly:acr:password";
/** A sign-in with two factors (amr has "mfa"). */
export const ACR_MFA = "urn:buildly:acr:mfa";

export async function issueCode(
  d1: D1Database,
  p: Omit<AuthorizationCodeRow, "id" | "code_hash" | "expires_at" | "created_at" | "used_at" | "revoked_at">,
): Promise<string> {
  const code = randomToken(32);
  const now = Date.now();
  await db(d1)
    .insert(authorizationCodes)
    .values({
      ...p,
      id: newId(),
      code_hash: await sha256Hex(code),
      expires_at: new Date(now + CODE_TTL_SECONDS * 1000).toISOString(),
      created_at: new Date(now).toISOString(),
    });
  return code;
}

export type RedeemResult = { ok: true; row: AuthorizationCodeRow } | { ok: false; reason: "unknown" | "expired" | "replayed" };

/**
 * Spends a code: exactly one caller wins (a conditional UPDATE). A code presented again is an
 * attack or a bug: the grant it started is revoked, with every refresh token of its family and
 * (through the `gid` claim) every access token issued from it.
 */
export async function redeemCode(d1: D1Database, code: string): Promise<RedeemResult> {
  const d = db(d1);
  const hash = await sha256Hex(code);
  const now = nowIso();
  const won = await d
    .update(authorizationCodes)
    .set({ used_at: now })
    .where(and(eq(authorizationCodes.code_hash, hash), isNull(authorizationCodes.used_at)))
    .returning()
    .get();
  if (won) {
    if (won.expires_at <= now) return { ok: false, reason: "expired" };
    return { ok: true, row: won };
  }
  const seen = await d.select().from(authorizationCodes).where(eq(authorizationCodes.code_hash, hash)).get();
  if (!seen) return { ok: false, reason: "unknown" };
  await revokeGrant(d1, seen.id);
  return { ok: false, reason: "replayed" };
}

export async function revokeGrant(d1: D1Database, grantId: string): Promise<void> {
  const d = db(d1);
  const now = nowIso();
  await d.batch([
    d
      .update(authorizationCodes)
      .set({ revoked_at: now })
      .where(and(eq(authorizationCodes.id, grantId), isNull(authorizationCodes.revoked_at))),
    d
      .update(refreshTokens)
      .set({ revoked_at: now })
      .where(and(eq(refreshTokens.family_id, grantId), isNull(refreshTokens.revoked_at))),
  ]);
  revokedGrants.forget((key) => key === grantId);
}

/** Whether a grant was revoked, cached per isolate for a few seconds (a replay is seen everywhere within that). */
const revokedGrants = new RefreshAheadCache<boolean>(10_000, 20_000);

export async function grantRevoked(d1: D1Database, grantId: string, waitUntil?: (p: Promise<unknown>) => void): Promise<boolean> {
  return revokedGrants.get(
    grantId,
    async () => {
      const row = await db(d1).select({ revoked_at: authorizationCodes.revoked_at }).from(authorizationCodes).where(eq(authorizationCodes.id, grantId)).get();
      return Boolean(row?.revoked_at);
    },
    { waitUntil },
  );
}

/** RFC 7636 4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export async function pkceMatches(verifier: string, challenge: string): Promise<boolean> {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const computed = new TextEncoder().encode(toBase64Url(digest));
  const given = new TextEncoder().encode(challenge);
  return computed.byteLength === given.byteLength && crypto.subtle.timingSafeEqual(computed, given);
}

/** An OpenID Connect ID token (Core 2), signed with the same ES256 keys as access tokens. */
export async function issueIdToken(
  d1: D1Database,
  cfg: AuthConfig,
  p: { subject: string; client_id: string; auth_time: number; nonce?: string | null; amr: string[]; organization_id: string; claims?: Record<string, unknown> },
): Promise<string> {
  const key = await signingKey(d1, cfg.signingSecret, cfg.accessTtl + CLOCK_SKEW_SECONDS);
  return new SignJWT({
    auth_time: p.auth_time,
    ...(p.nonce ? { nonce: p.nonce } : {}),
    amr: p.amr,
    acr: p.amr.includes("mfa") ? ACR_MFA : ACR_PASSWORD,
    azp: p.client_id,
    org: p.organization_id,
    ...p.claims,
  })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: "JWT" })
    .setIssuer(cfg.issuer)
    .setAudience(p.client_id)
    .setSubject(p.subject)
    .setIssuedAt()
    .setExpirationTime(`${cfg.accessTtl}s`)
    .sign(key.key);
}

/**
 * Daily: forgets sign-in state no one can use any more. Codes are kept 30 days after they expire
 * (the refresh lifetime's order of magnitude), so a late replay still finds and revokes its grant.
 */
export async function sweepSigninState(d1: D1Database, now = Date.now()): Promise<void> {
  const day = 86_400_000;
  await d1.batch([
    d1.prepare("DELETE FROM authorization_codes WHERE expires_at < ?").bind(new Date(now - 30 * day).toISOString()),
    d1.prepare("DELETE FROM login_sessions WHERE expires_at < ? OR revoked_at < ?").bind(new Date(now - day).toISOString(), new Date(now - day).toISOString()),
    d1.prepare("DELETE FROM client_assertions WHERE expires_at < ?").bind(new Date(now).toISOString()),
    d1.prepare("DELETE FROM email_verifications WHERE expires_at < ?").bind(new Date(now - day).toISOString()),
    // Single sign-on's upstream states and pending links (identity/federation), minutes long.
    d1.prepare("DELETE FROM federation_states WHERE expires_at < ?").bind(new Date(now - day).toISOString()),
  ]);
}
