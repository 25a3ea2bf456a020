import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { z } from "zod";
import { targetProblem } from "../../webhooks/target";
import { insecureLoopback } from "../signin/sessions";

/**
 * Talking to an organization's upstream OpenID provider: its discovery document and JWKS
 * (fetched with a deadline and a size cap, cached per isolate), the code exchange, and the
 * ID token check. Every URL it names is held to the webhook SSRF rules: https to a public host;
 * http on loopback only when the gateway itself runs on plain-http loopback (local development).
 */

const TIMEOUT_MS = 5000;
const MAX_BYTES = 64 * 1024;
const CACHE_MS = 10 * 60_000;
/** An unknown `kid` refetches the keys at most this often per provider. */
const REFETCH_COOLDOWN_MS = 30_000;
export const ID_TOKEN_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

export class UpstreamError extends Error {}

/** Whether the gateway may talk to this URL of an upstream provider: null, or why not. */
export function upstreamUrlProblem(url: string, gatewayIssuer: string): string | null {
  return targetProblem(url, { allowLoopback: insecureLoopback(gatewayIssuer) });
}

/** Fetches `url` with a deadline and reads at most MAX_BYTES; no redirects (an issuer's endpoints are where it says). */
export async function boundedFetch(url: string, gatewayIssuer: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const refused = upstreamUrlProblem(url, gatewayIssuer);
  if (refused) throw new UpstreamError(`The provider's URL ${url} is refused: ${refused}`);
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch {
    throw new UpstreamError(`The provider did not answer at ${url} within ${TIMEOUT_MS / 1000} s.`);
  }
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > MAX_BYTES) {
    await res.body?.cancel();
    throw new UpstreamError(`The provider's answer at ${url} is larger than ${MAX_BYTES} bytes.`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_BYTES) {
        await reader.cancel().catch(() => {});
        throw new UpstreamError(`The provider's answer at ${url} is larger than ${MAX_BYTES} bytes.`);
      }
      chunks.push(value);
    }
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const ch of chunks) {
    all.set(ch, at);
    at += ch.byteLength;
  }
  return { status: res.status, text: new TextDecoder().decode(all) };
}

async function fetchJson(url: string, gatewayIssuer: string): Promise<unknown> {
  const { status, text } = await boundedFetch(url, gatewayIssuer, { headers: { accept: "application/json" } });
  if (status !== 200) throw new UpstreamError(`The provider answered ${status} at ${url}.`);
  try {
    return JSON.parse(text);
  } catch {
    throw new UpstreamError(`The provider's answer at ${url} is not JSON.`);
  }
}

const DiscoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  jwks_uri: z.string().url(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});
export type Discovery = z.infer<typeof DiscoverySchema>;

const discoveries = new Map<string, { at: number; doc: Discovery }>();

/** The provider's discovery document (OIDC Discovery 4), checked: the same issuer, every endpoint allowed. */
export async function discover(issuer: string, gatewayIssuer: string, opts: { fresh?: boolean } = {}): Promise<Discovery> {
  const hit = discoveries.get(issuer);
  if (hit && !opts.fresh && Date.now() - hit.at < CACHE_MS) return hit.doc;
  const raw = await fetchJson(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, gatewayIssuer);
  const parsed = DiscoverySchema.safeParse(raw);
  if (!parsed.success) throw new UpstreamError("The provider's discovery document lacks authorization_endpoint, token_endpoint or jwks_uri.");
  const doc = parsed.data;
  // OIDC Discovery 4.3: the document's issuer must be exactly the one asked for (no mix-up).
  if (doc.issuer !== issuer) throw new UpstreamError(`The provider's discovery document names the issuer ${doc.issuer}, not ${issuer}.`);
  for (const url of [doc.authorization_endpoint, doc.token_endpoint, doc.jwks_uri]) {
    const refused = upstreamUrlProblem(url, gatewayIssuer);
    if (refused) throw new UpstreamError(`The provider's endpoint ${url} is refused: ${refused}`);
  }
  if (doc.code_challenge_methods_supported && !doc.code_challenge_methods_supported.includes("S256")) {
    throw new UpstreamError("The provider does not support PKCE with S256.");
  }
  discoveries.set(issuer, { at: Date.now(), doc });
  return doc;
}

const keySets = new Map<string, { at: number; keys: JSONWebKeySet }>();

async function loadKeys(jwksUri: string, gatewayIssuer: string): Promise<JSONWebKeySet> {
  const raw = (await fetchJson(jwksUri, gatewayIssuer)) as { keys?: unknown };
  if (!raw || !Array.isArray(raw.keys)) throw new UpstreamError("The provider's JWKS has no keys.");
  const keys = { keys: raw.keys.slice(0, 50) as JSONWebKeySet["keys"] };
  keySets.set(jwksUri, { at: Date.now(), keys });
  return keys;
}

export class IdTokenError extends Error {}

/**
 * Verifies the upstream ID token (OIDC Core 3.1.3.7): signature by the provider's published
 * keys (an unknown kid refetches them once per cooldown), iss, aud (our client id; azp when
 * several), exp and iat with 60 s of skew, and the nonce we sent.
 */
export async function verifyIdToken(
  idToken: string,
  p: { issuer: string; clientId: string; nonce: string; jwksUri: string; gatewayIssuer: string },
): Promise<JWTPayload> {
  const check = async (keys: JSONWebKeySet) =>
    jwtVerify(idToken, createLocalJWKSet(keys), {
      algorithms: ID_TOKEN_ALGS,
      issuer: p.issuer,
      audience: p.clientId,
      clockTolerance: 60,
      requiredClaims: ["sub", "exp", "iat"],
    });
  let cached = keySets.get(p.jwksUri);
  if (!cached || Date.now() - cached.at > CACHE_MS) cached = { at: Date.now(), keys: await loadKeys(p.jwksUri, p.gatewayIssuer) };
  let payload: JWTPayload;
  try {
    try {
      ({ payload } = await check(cached.keys));
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - cached.at < REFETCH_COOLDOWN_MS) throw err;
      ({ payload } = await check(await loadKeys(p.jwksUri, p.gatewayIssuer)));
    }
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new IdTokenError("The provider's ID token has expired.");
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw new IdTokenError(`The provider's ID token is not for us (${err.claim} does not match).`);
    if (err instanceof joseErrors.JOSEError) throw new IdTokenError("The provider's ID token signature could not be verified.");
    throw err;
  }
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== p.clientId)
    throw new IdTokenError("The provider's ID token is not for us (azp).");
  if (typeof payload.nonce !== "string" || payload.nonce !== p.nonce)
    throw new IdTokenError("The provider's ID token does not carry the nonce of this sign-in.");
  return payload;
}

/** For tests: forgets what this isolate cached about providers. */
export function forgetUpstreamCaches() {
  discoveries.clear();
  keySets.clear();
}
