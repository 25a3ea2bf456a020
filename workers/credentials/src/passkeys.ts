import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type RegistrationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { z } from "zod";
import type {
  AuthenticationOptionsInputSchema,
  RegistrationOptionsInputSchema,
  VerifiedAuthentication,
  VerifiedRegistration,
  VerifyAuthenticationInputSchema,
  VerifyRegistrationInputSchema,
} from "@buildly/shared/credentials";
import { fromBase64Url, toBase64Url } from "@buildly/shared/encoding";

/**
 * WebAuthn with @simplewebauthn/server (it verifies with WebCrypto, so it runs in workerd). The
 * gateway decides the relying party, the challenge (a sealed token) and which passkeys count; this
 * Worker builds the options and checks the browser's answers. The choices that never vary are here.
 */
const RP_NAME = "Buildly";

type Transports = AuthenticatorTransport[];

export async function registrationOptions(input: z.output<typeof RegistrationOptionsInputSchema>) {
  return generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: input.rpID,
    userName: input.userName,
    userDisplayName: input.userDisplayName,
    userID: new Uint8Array(new TextEncoder().encode(input.userID)),
    challenge: input.challenge,
    timeout: input.timeoutMs,
    attestationType: "none",
    excludeCredentials: input.excludeCredentials.map((c) => ({ id: c.id, transports: c.transports as Transports | undefined })),
    // A discoverable credential, so the same passkey also signs in without a password.
    authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
  });
}

export async function authenticationOptions(input: z.output<typeof AuthenticationOptionsInputSchema>) {
  return generateAuthenticationOptions({
    rpID: input.rpID,
    challenge: input.challenge,
    timeout: input.timeoutMs,
    allowCredentials: input.allowCredentials.map((c) => ({ id: c.id, transports: c.transports as Transports | undefined })),
    userVerification: input.userVerification,
  });
}

/** The verifier throws on a malformed or wrong answer: its message says why (the gateway's 400 detail). */
export type Verified<T> = { verified: true; data: T } | { verified: false; reason?: string };

export async function verifyRegistration(input: z.output<typeof VerifyRegistrationInputSchema>): Promise<Verified<VerifiedRegistration>> {
  let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    result = await verifyRegistrationResponse({
      response: input.response as unknown as RegistrationResponseJSON,
      expectedChallenge: input.expectedChallenge,
      expectedOrigin: input.expectedOrigin,
      expectedRPID: input.expectedRPID,
      requireUserVerification: input.requireUserVerification,
    });
  } catch (err) {
    return { verified: false, reason: (err as Error).message };
  }
  if (!result.verified) return { verified: false };
  const info = result.registrationInfo;
  return {
    verified: true,
    data: {
      credential: {
        id: info.credential.id,
        publicKey: toBase64Url(info.credential.publicKey),
        counter: info.credential.counter,
        transports: (info.credential.transports ?? []).filter((t) => typeof t === "string"),
      },
      backedUp: info.credentialBackedUp,
    },
  };
}

export async function verifyAuthentication(input: z.output<typeof VerifyAuthenticationInputSchema>): Promise<Verified<VerifiedAuthentication>> {
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    result = await verifyAuthenticationResponse({
      response: input.response as unknown as AuthenticationResponseJSON,
      expectedChallenge: input.expectedChallenge,
      expectedOrigin: input.expectedOrigin,
      expectedRPID: input.expectedRPID,
      credential: {
        id: input.credential.id,
        publicKey: new Uint8Array(fromBase64Url(input.credential.publicKey)),
        counter: input.credential.counter,
        transports: input.credential.transports as Transports | undefined,
      },
      requireUserVerification: input.requireUserVerification,
    });
  } catch (err) {
    return { verified: false, reason: (err as Error).message };
  }
  if (!result.verified) return { verified: false };
  const info = result.authenticationInfo;
  return { verified: true, data: { newCounter: info.newCounter, userVerified: info.userVerified, backedUp: info.credentialBackedUp } };
}
