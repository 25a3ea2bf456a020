import { exportJWK, generateKeyPair, importJWK, type CryptoKey as JoseKey, type JWK } from "jose";
import { and, desc, eq, gt, lt, or } from "drizzle-orm";
import { nowIso } from "@buildly/shared";
import { db } from "./db/client";
import { signingKeys } from "./db/schema";
import { randomToken } from "./crypto";
import { decryptText, encryptText } from "./sealing";

export const SIGNING_ALG = "ES256";
/** Keys are read from D1 at most this often per isolate; a rotation is seen within this time. */
const CACHE_MS = 60_000;
/** An unknown kid refetches at most this often, so it cannot be used to hammer D1. */
const NEGATIVE_CACHE_MS = 30_000;

interface PublicKeyEntry {
  kid: string;
  jwk: JWK;
  key: JoseKey | Uint8Array;
}

interface KeyCache {
  at: number;
  published: PublicKeyEntry[];
  signing?: { kid: string; key: JoseKey | Uint8Array };
}

let cache: KeyCache | undefined;
let inFlight: Promise<KeyCache> | undefined;
const unknownKids = new Map<string, number>();

async function load(d1: D1Database, secret: string): Promise<KeyCache> {
  const now = nowIso();
  const rows = await db(d1)
    .select()
    .from(signingKeys)
    .where(or(eq(signingKeys.status, "active"), gt(signingKeys.publish_until, now)))
    .orderBy(desc(signingKeys.created_at));
  const published: PublicKeyEntry[] = [];
  for (const row of rows) {
    const jwk = row.public_jwk as JWK;
    published.push({ kid: row.kid, jwk, key: await importJWK(jwk, SIGNING_ALG) });
  }
  const active = rows.find((r) => r.status === "active");
  let signing: KeyCache["signing"];
  if (active) {
    const privateJwk = JSON.parse(await decryptText(secret, active.private_jwk_encrypted)) as JWK;
    signing = { kid: active.kid, key: await importJWK(privateJwk, SIGNING_ALG) };
  }
  return { at: Date.now(), published, signing };
}

/** One load in flight per isolate, however many requests ask at once. */
function refresh(d1: D1Database, secret: string): Promise<KeyCache> {
  inFlight ??= load(d1, secret)
    .then((c) => (cache = c))
    .finally(() => (inFlight = undefined));
  return inFlight;
}

async function current(d1: D1Database, secret: string): Promise<KeyCache> {
  if (cache && Date.now() - cache.at < CACHE_MS) return cache;
  return refresh(d1, secret);
}

/** Creates a new active key; earlier active keys retire but stay published for `publishForSeconds`. */
export async function rotateSigningKey(d1: D1Database, secret: string, publishForSeconds: number): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = randomToken(12);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG };
  const now = new Date();
  const publishUntil = new Date(now.getTime() + publishForSeconds * 1000).toISOString();
  const d = db(d1);
  await d.batch([
    d.update(signingKeys).set({ status: "retired", retired_at: now.toISOString(), publish_until: publishUntil }).where(eq(signingKeys.status, "active")),
    d.insert(signingKeys).values({
      kid,
      alg: SIGNING_ALG,
      public_jwk: publicJwk as JsonWebKey,
      private_jwk_encrypted: await encryptText(secret, JSON.stringify(privateJwk)),
      status: "active",
      created_at: now.toISOString(),
    }),
    // Keys whose last token has long expired are no longer published or kept.
    d.delete(signingKeys).where(and(eq(signingKeys.status, "retired"), lt(signingKeys.publish_until, now.toISOString()))),
  ]);
  cache = undefined;
  return kid;
}

/** The key to sign with; the first token ever issued creates it. */
export async function signingKey(d1: D1Database, secret: string, publishForSeconds: number) {
  let c = await current(d1, secret);
  if (!c.signing) {
    // Two isolates may race here; both keys are valid and published, the newest signs.
    const existing = await db(d1).select({ kid: signingKeys.kid }).from(signingKeys).where(eq(signingKeys.status, "active")).get();
    if (!existing) await rotateSigningKey(d1, secret, publishForSeconds);
    c = await refresh(d1, secret);
  }
  if (!c.signing) throw new Error("no signing key after rotation");
  return c.signing;
}

/** The published public keys (the JWKS). */
export async function publishedKeys(d1: D1Database, secret: string): Promise<JWK[]> {
  return (await current(d1, secret)).published.map((p) => p.jwk);
}

/**
 * The verification key for `kid`. An unknown kid triggers one reload (shared by every
 * request that asks meanwhile); if still unknown it is remembered as such for a while.
 */
export async function verificationKey(d1: D1Database, secret: string, kid: string) {
  let c = await current(d1, secret);
  let hit = c.published.find((p) => p.kid === kid);
  if (hit) return hit.key;
  const missedAt = unknownKids.get(kid);
  if (missedAt !== undefined && Date.now() - missedAt < NEGATIVE_CACHE_MS) return undefined;
  c = await refresh(d1, secret);
  hit = c.published.find((p) => p.kid === kid);
  if (!hit) {
    if (unknownKids.size > 1000) unknownKids.clear();
    unknownKids.set(kid, Date.now());
  }
  return hit?.key;
}

/** Test hook: forget what this isolate cached. */
export function resetKeyCache() {
  cache = undefined;
  unknownKids.clear();
}
