import { and, eq } from "drizzle-orm";
import { nowIso, toBase64Url } from "@buildly/shared";
import { db } from "../db/client";
import { passkeys, type PasskeyRow } from "./schema";
import { challengeFromClientData, openToken, sealToken, spendToken } from "./sealed";
import type { VerifyRegistrationInput } from "@buildly/shared/credentials";
import { authenticationOptionsOf, registrationOptionsOf, verifyAuthenticationWith, verifyRegistrationWith } from "../credentials-client";

/**
 * Passkeys (WebAuthn). The options and the verification run in the credentials Worker
 * (../credentials-client.ts: @simplewebauthn/server and its ASN.1 stack stay out of the gateway's bundle); the
 * passkeys, the challenges and every decision stay here. The relying party is the gateway's
 * issuer: its host is the RP ID, its origin the only origin accepted. Challenges are sealed tokens
 * (sealed.ts) naming who they were issued to and for what, valid 5 minutes and spent on first use.
 */
export const CHALLENGE_TTL_SECONDS = 300;

/** A browser's answer (RegistrationResponseJSON, AuthenticationResponseJSON): checked by the credentials Worker. */
type VerifyResponse = VerifyRegistrationInput["response"];
export type WebAuthnResponse = { id?: unknown; response?: { clientDataJSON?: unknown; userHandle?: unknown } } & Record<string, unknown>;

/** A stored passkey as options list it; the transports bounded as the contract bounds them (a browser chose them). */
const descriptor = (p: PasskeyRow) => ({ id: p.id, transports: p.transports.filter((t) => typeof t === "string" && t.length <= 32).slice(0, 10) });

export function relyingParty(issuer: string) {
  const u = new URL(issuer);
  // Browsers refuse WebAuthn on an IP address: a local issuer on 127.0.0.1 or [::1] (npm run dev)
  // offers passkeys at http://localhost on the same port.
  if (u.protocol === "http:" && (u.hostname === "127.0.0.1" || u.hostname === "[::1]")) {
    return { rpID: "localhost", origin: `http://localhost:${u.port || "80"}` };
  }
  return { rpID: u.hostname, origin: u.origin };
}

/** The WebAuthn user handle of an account: its id's bytes (never the email: it is stored on the authenticator). */
export function userHandle(userId: string): string {
  return toBase64Url(new TextEncoder().encode(userId));
}

export async function passkeysOf(d1: D1Database, userId: string): Promise<PasskeyRow[]> {
  return db(d1).select().from(passkeys).where(eq(passkeys.user_id, userId)).all();
}

export async function registrationOptions(env: Env, secret: string, issuer: string, user: { id: string; email: string; name: string }) {
  const existing = await passkeysOf(env.DB, user.id);
  const challenge = await sealToken(secret, { purpose: "webauthn-register", uid: user.id }, CHALLENGE_TTL_SECONDS);
  // A discoverable credential (so the same passkey also signs in without a password), no attestation.
  return registrationOptionsOf(env, {
    rpID: relyingParty(issuer).rpID,
    userName: user.email,
    userDisplayName: user.name,
    userID: user.id,
    challenge,
    timeoutMs: CHALLENGE_TTL_SECONDS * 1000,
    excludeCredentials: existing.map(descriptor),
  });
}

export type Refusal = { ok: false; status: 400 | 409; reason: string; detail: string };

function refuse(reason: string, detail: string, status: 400 | 409 = 400): Refusal {
  return { ok: false, status, reason, detail };
}

/** Verifies a registration for `userId` against a challenge issued to that same user, and stores the passkey. */
export async function registerPasskey(
  env: Env,
  secret: string,
  issuer: string,
  user: { id: string; organization_id: string },
  response: WebAuthnResponse,
  name: string,
): Promise<{ ok: true; passkey: PasskeyRow } | Refusal> {
  const d1 = env.DB;
  const challenge = challengeFromClientData(response.response?.clientDataJSON);
  const claims = challenge && (await openToken(secret, "webauthn-register", challenge.sealed));
  if (!challenge || !claims) return refuse("challenge", "The registration answers no current challenge of ours (unknown or expired): ask for new options.");
  if (claims.uid !== user.id) return refuse("other_user", "This registration was started by another account.");
  if (!(await spendToken(d1, challenge.sealed, claims))) return refuse("challenge", "This challenge was already used: ask for new options.");
  const rp = relyingParty(issuer);
  const verified = await verifyRegistrationWith(env, {
    response: response as VerifyResponse,
    expectedChallenge: challenge.raw,
    expectedOrigin: rp.origin,
    expectedRPID: rp.rpID,
    requireUserVerification: false,
  });
  if (!verified.ok)
    return refuse("invalid", verified.detail ? `The registration could not be verified: ${verified.detail}` : "The registration could not be verified.");
  const info = verified.data;
  const row: PasskeyRow = {
    id: info.credential.id,
    user_id: user.id,
    organization_id: user.organization_id,
    name,
    public_key: info.credential.publicKey,
    counter: info.credential.counter,
    transports: info.credential.transports,
    backed_up: info.backedUp,
    created_at: nowIso(),
    last_used_at: null,
  };
  const inserted = await db(d1).insert(passkeys).values(row).onConflictDoNothing().returning({ id: passkeys.id }).get();
  if (!inserted) return refuse("duplicate", "This passkey is already registered.", 409);
  return { ok: true, passkey: row };
}

/** Options for a sign-in: with `userId`, only that account's passkeys (second factor); without, any discoverable one. */
export async function authenticationOptions(env: Env, secret: string, issuer: string, userId?: string) {
  const allow = userId ? await passkeysOf(env.DB, userId) : [];
  const challenge = await sealToken(secret, { purpose: "webauthn-signin", ...(userId ? { uid: userId } : {}) }, CHALLENGE_TTL_SECONDS);
  return authenticationOptionsOf(env, {
    rpID: relyingParty(issuer).rpID,
    challenge,
    timeoutMs: CHALLENGE_TTL_SECONDS * 1000,
    allowCredentials: allow.map(descriptor),
    userVerification: userId ? "preferred" : "required",
  });
}

/**
 * Verifies a sign-in assertion. With `expectedUser` (the second factor after a password) the
 * passkey must be that account's; without (passwordless) the authenticator must have verified
 * the user and its user handle must name the passkey's owner. The signature counter must grow
 * (when the authenticator keeps one), and the challenge is spent.
 */
export async function verifyPasskeySignIn(
  env: Env,
  secret: string,
  issuer: string,
  response: WebAuthnResponse,
  expectedUser?: string,
): Promise<{ ok: true; passkey: PasskeyRow; userVerified: boolean; backedUp: boolean } | Refusal> {
  const d1 = env.DB;
  const challenge = challengeFromClientData(response.response?.clientDataJSON);
  const claims = challenge && (await openToken(secret, "webauthn-signin", challenge.sealed));
  if (!challenge || !claims) return refuse("challenge", "The passkey answered no current sign-in challenge (unknown or expired). Try again.");
  if ((claims.uid ?? undefined) !== expectedUser) return refuse("challenge", "The passkey answered a challenge issued for another sign-in. Try again.");
  if (typeof response.id !== "string" || response.id.length > 1400) return refuse("invalid", "The passkey's answer is malformed.");
  const row = await db(d1).select().from(passkeys).where(eq(passkeys.id, response.id)).get();
  if (!row) return refuse("unknown_passkey", "This passkey is not registered here.");
  if (expectedUser && row.user_id !== expectedUser) return refuse("other_user", "This passkey belongs to another account.");
  const handle = response.response?.userHandle;
  if (handle !== undefined && handle !== userHandle(row.user_id)) return refuse("other_user", "This passkey belongs to another account.");
  if (!(await spendToken(d1, challenge.sealed, claims))) return refuse("challenge", "This sign-in challenge was already used. Try again.");
  const rp = relyingParty(issuer);
  const verified = await verifyAuthenticationWith(env, {
    response: response as VerifyResponse,
    expectedChallenge: challenge.raw,
    expectedOrigin: rp.origin,
    expectedRPID: rp.rpID,
    credential: { ...descriptor(row), publicKey: row.public_key, counter: row.counter },
    requireUserVerification: !expectedUser,
  });
  if (!verified.ok)
    return refuse(
      "invalid",
      verified.detail ? `The passkey's answer could not be verified: ${verified.detail}` : "The passkey's answer could not be verified.",
    );
  const info = verified.data;
  // The counter moves forward exactly once per assertion (two racing with one counter: one wins).
  const moved = await db(d1)
    .update(passkeys)
    .set({ counter: info.newCounter, last_used_at: nowIso(), backed_up: info.backedUp })
    .where(and(eq(passkeys.id, row.id), eq(passkeys.counter, row.counter)))
    .returning({ id: passkeys.id })
    .get();
  if (!moved) return refuse("invalid", "The passkey's signature counter did not move forward (a cloned authenticator?).");
  return { ok: true, passkey: row, userVerified: info.userVerified, backedUp: info.backedUp };
}

/** RFC 8176 methods of a passkey: hwk for a device-bound key, swk for a synced one; user when the authenticator verified the user. */
export function passkeyAmr(p: { userVerified: boolean; backedUp: boolean }): string[] {
  return [p.backedUp ? "swk" : "hwk", ...(p.userVerified ? ["user"] : [])];
}
