import { SignJWT, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { and, eq, isNull } from "drizzle-orm";
import { newId, nowIso, type EventActor, type PlatformEvent } from "@buildly/shared";
import { identityEvent, outboxInsert, systemActor } from "../events/emit";
import { db } from "./db/client";
import { refreshTokens } from "./db/schema";
import type { AuthConfig, TrustedIssuer } from "./config";
import { randomToken, sha256Hex } from "./crypto";
import { SIGNING_ALG, signingKey, verificationKey } from "./keys";
import type { Principal } from "./principal";

export type { Principal } from "./principal";

export const CLOCK_SKEW_SECONDS = 60;

export class InvalidTokenError extends Error {}

export async function issueAccessToken(
  d1: D1Database,
  cfg: AuthConfig,
  p: { subject: string; organization_id: string; roles: string[]; scope: string; client_id: string; grant?: string; amr?: string[] },
): Promise<string> {
  const key = await signingKey(d1, cfg.signingSecret, cfg.accessTtl + CLOCK_SKEW_SECONDS);
  const jwt = new SignJWT({
    org: p.organization_id,
    roles: p.roles,
    scope: p.scope,
    client_id: p.client_id,
    ...(p.grant ? { gid: p.grant } : {}),
    // How the user signed in (RFC 8176; a user's token only, never a client's).
    ...(p.amr?.length ? { amr: p.amr } : {}),
  })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: "at+jwt" })
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audience)
    .setSubject(p.subject)
    .setIssuedAt()
    .setExpirationTime(`${cfg.accessTtl}s`)
    .setJti(newId());
  return jwt.sign(key.key);
}

const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** jose's remote key set fetches once per cooldown and shares one fetch in flight. */
function remoteKeySet(issuer: TrustedIssuer) {
  let set = remoteSets.get(issuer.jwks_uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(issuer.jwks_uri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 3000 });
    remoteSets.set(issuer.jwks_uri, set);
  }
  return set;
}

function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/**
 * Verifies a bearer token: only ES256 (never `none`, never HMAC), our issuer and audience,
 * exp/nbf with 60 s of skew, `kid` from our published keys; or a configured external issuer's.
 */
/**
 * Tokens this isolate has already verified, until they expire: a client sends the same token
 * many times, and a signature check costs far more than a map lookup. Keyed by the whole token
 * (and the expected issuer and audience), so a changed byte is a miss.
 */
const verified = new Map<string, { principal: Principal; exp: number }>();
const VERIFIED_MAX = 10_000;

export async function verifyAccessToken(d1: D1Database, cfg: AuthConfig, token: string): Promise<Principal> {
  const cacheKey = `${cfg.issuer}|${cfg.audience}|${token}`;
  const hit = verified.get(cacheKey);
  if (hit) {
    if (Date.now() / 1000 < hit.exp + CLOCK_SKEW_SECONDS) return hit.principal;
    verified.delete(cacheKey);
  }
  const principal = await verifyUncached(d1, cfg, token);
  const exp = decodeJwt(token).exp;
  if (typeof exp === "number") {
    if (verified.size >= VERIFIED_MAX) verified.clear();
    verified.set(cacheKey, { principal, exp });
  }
  return principal;
}

async function verifyUncached(d1: D1Database, cfg: AuthConfig, token: string): Promise<Principal> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch {
    throw new InvalidTokenError("The token is not a JWT.");
  }
  try {
    if (unverified.iss === cfg.issuer || unverified.iss === undefined) {
      if (header.alg !== SIGNING_ALG || typeof header.kid !== "string") throw new InvalidTokenError("Unsupported token algorithm.");
      const key = await verificationKey(d1, cfg.signingSecret, header.kid);
      if (!key) throw new InvalidTokenError("The token was signed by an unknown key.");
      const { payload } = await jwtVerify(token, key, {
        algorithms: [SIGNING_ALG],
        issuer: cfg.issuer,
        audience: cfg.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ["sub", "exp", "iat", "jti", "org"],
      });
      return {
        // RFC 9068: every token names its client; a client's own token (client_credentials) has itself as subject.
        kind: typeof payload.client_id === "string" && payload.client_id === payload.sub ? "client" : "user",
        subject: payload.sub!,
        organization_id: String(payload.org),
        roles: claimList(payload.roles),
        scope: typeof payload.scope === "string" ? payload.scope : "",
        issuer: cfg.issuer,
        ...(typeof payload.client_id === "string" ? { client_id: payload.client_id } : {}),
        ...(typeof payload.gid === "string" ? { grant: payload.gid } : {}),
      };
    }
    const external = cfg.trustedIssuers.find((t) => t.issuer === unverified.iss);
    if (!external) throw new InvalidTokenError("The token's issuer is not trusted.");
    const { payload } = await jwtVerify(token, remoteKeySet(external), {
      algorithms: ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
      issuer: external.issuer,
      audience: external.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["sub", "exp"],
    });
    const org = payload[external.claims.organization];
    if (typeof org !== "string" || !org) throw new InvalidTokenError("The token names no organization.");
    return {
      kind: "user",
      subject: `${external.issuer}#${payload.sub}`,
      organization_id: org,
      roles: claimList(payload[external.claims.roles]),
      // RFC 9068 `scope`, or `scp` (a list: Okta, Microsoft Entra ID).
      scope: typeof payload.scope === "string" ? payload.scope : claimList(payload.scp).join(" "),
      issuer: external.issuer,
      claims: payload,
    };
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError("The token has expired.");
    if (err instanceof joseErrors.JOSEError) throw new InvalidTokenError("The token is not valid.");
    throw err;
  }
}

// --- refresh tokens: opaque, stored hashed, rotated on every use, reuse revokes the family ---

export async function issueRefreshToken(
  d1: D1Database,
  cfg: AuthConfig,
  p: { user_id: string; organization_id: string; scope: string; family_id?: string; client_id?: string | null; amr?: string[] | null },
): Promise<string> {
  const token = randomToken(32);
  const now = Date.now();
  await db(d1)
    .insert(refreshTokens)
    .values({
      id: newId(),
      token_hash: await sha256Hex(token),
      family_id: p.family_id ?? newId(),
      user_id: p.user_id,
      organization_id: p.organization_id,
      scope: p.scope,
      client_id: p.client_id ?? null,
      amr: p.amr ?? null,
      expires_at: new Date(now + cfg.refreshTtl * 1000).toISOString(),
      created_at: new Date(now).toISOString(),
    });
  return token;
}

export type RotateResult =
  | { ok: true; user_id: string; organization_id: string; scope: string; family_id: string; client_id: string | null; amr: string[] | null }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "reused" };

/**
 * Marks the presented refresh token used. Exactly one caller can win (a conditional UPDATE);
 * presenting a token that was already rotated revokes every token of its family.
 */
export async function consumeRefreshToken(d1: D1Database, token: string, requestId: string | null = null): Promise<RotateResult> {
  const hash = await sha256Hex(token);
  const d = db(d1);
  const row = await d.select().from(refreshTokens).where(eq(refreshTokens.token_hash, hash)).get();
  if (!row) return { ok: false, reason: "unknown" };
  if (row.revoked_at) return { ok: false, reason: "revoked" };
  const now = nowIso();
  // A rotated token presented again: someone holds a copy. The family ends and the audit trail says so.
  const reuse = () =>
    identityEvent(systemActor(requestId), "identity.refresh_token.reuse_detected", {
      subject: row.user_id,
      organizationid: row.organization_id,
      data: { user_id: row.user_id, family_id: row.family_id },
    });
  if (row.rotated_at) {
    await revokeFamily(d1, row.family_id, reuse());
    return { ok: false, reason: "reused" };
  }
  if (row.expires_at <= now) return { ok: false, reason: "expired" };
  const won = await d
    .update(refreshTokens)
    .set({ rotated_at: now })
    .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.rotated_at), isNull(refreshTokens.revoked_at)))
    .returning({ id: refreshTokens.id })
    .get();
  if (!won) {
    await revokeFamily(d1, row.family_id, reuse());
    return { ok: false, reason: "reused" };
  }
  return {
    ok: true,
    user_id: row.user_id,
    organization_id: row.organization_id,
    scope: row.scope,
    family_id: row.family_id,
    client_id: row.client_id,
    amr: row.amr,
  };
}

/** Revokes every token of the family; `event`, if given, goes in with the revocation when it revoked any. */
export async function revokeFamily(d1: D1Database, familyId: string, event?: PlatformEvent): Promise<void> {
  const d = db(d1);
  const revoke = d
    .update(refreshTokens)
    .set({ revoked_at: nowIso() })
    .where(and(eq(refreshTokens.family_id, familyId), isNull(refreshTokens.revoked_at)));
  if (event) await d.batch([revoke, outboxInsert(d, event, { onlyIfChanged: true })]);
  else await revoke;
}

export async function revokeUserRefreshTokens(d1: D1Database, userId: string): Promise<void> {
  await db(d1)
    .update(refreshTokens)
    .set({ revoked_at: nowIso() })
    .where(and(eq(refreshTokens.user_id, userId), isNull(refreshTokens.revoked_at)));
}

/** RFC 7009: revoking a refresh token ends its whole family. Unknown tokens are not an error. */
export async function revokeRefreshToken(d1: D1Database, token: string, actor: EventActor): Promise<boolean> {
  const row = await db(d1)
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.token_hash, await sha256Hex(token)))
    .get();
  if (!row) return false;
  // Whoever presents the token may revoke it (RFC 7009): without a signed-in caller, its holder is its user.
  const by: EventActor = actor.actortype === "system" ? { ...actor, actortype: "user", actorid: row.user_id } : actor;
  await revokeFamily(
    d1,
    row.family_id,
    identityEvent(by, "identity.refresh_token.revoked", {
      subject: row.user_id,
      organizationid: row.organization_id,
      data: { user_id: row.user_id, family_id: row.family_id },
    }),
  );
  return true;
}
