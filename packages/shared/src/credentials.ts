// The contract between the gateway and the credentials Worker (workers/credentials): what crosses
// its RPC entrypoint, CredentialsService. The passkey (WebAuthn) verification stack and the
// common-password list live there, off every API request's path, so the gateway's bundle stays
// small; the gateway keeps the state (D1: passkeys, spent challenges) and the decisions.
import { z } from "zod";

const base64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/, "Not base64url");

/** A registered passkey as WebAuthn options list it (excludeCredentials, allowCredentials). */
export const CredentialDescriptorSchema = z.object({
  id: base64url(1400).min(1),
  transports: z.array(z.string().max(32)).max(10).optional(),
});

/** Bounds the options' size; far above any one account's passkeys. */
const MAX_CREDENTIALS = 1000;
const RelyingPartyId = z.string().min(1).max(253);
// The gateway's sealed tokens are about 250 characters; a challenge read back from clientDataJSON (at most 4096) fits.
const Challenge = z.string().min(1).max(4096);
const TimeoutMs = z.number().int().positive().max(600_000);

export const RegistrationOptionsInputSchema = z.object({
  rpID: RelyingPartyId,
  /** The account's id: its UTF-8 bytes are the WebAuthn user handle (never the email). */
  userID: z.string().min(1).max(64),
  userName: z.string().min(1).max(320),
  userDisplayName: z.string().max(320),
  challenge: Challenge,
  timeoutMs: TimeoutMs,
  excludeCredentials: z.array(CredentialDescriptorSchema).max(MAX_CREDENTIALS),
});

export const AuthenticationOptionsInputSchema = z.object({
  rpID: RelyingPartyId,
  challenge: Challenge,
  timeoutMs: TimeoutMs,
  allowCredentials: z.array(CredentialDescriptorSchema).max(MAX_CREDENTIALS),
  userVerification: z.enum(["required", "preferred", "discouraged"]),
});

/**
 * A browser's answer (RegistrationResponseJSON or AuthenticationResponseJSON), bounded here;
 * its inner fields are checked by the WebAuthn verifier itself (its messages are the 400's detail).
 */
const WebAuthnResponseSchema = z.looseObject({
  id: z.string().max(1400),
  response: z.looseObject({ clientDataJSON: z.string().max(4096) }),
});

const Expected = {
  expectedChallenge: Challenge,
  expectedOrigin: z.string().min(1).max(2048),
  expectedRPID: RelyingPartyId,
  requireUserVerification: z.boolean(),
};

export const VerifyRegistrationInputSchema = z.object({ response: WebAuthnResponseSchema, ...Expected });

export const VerifyAuthenticationInputSchema = z.object({
  response: WebAuthnResponseSchema,
  ...Expected,
  /** The stored passkey the answer claims to be: its COSE public key as base64url. */
  credential: CredentialDescriptorSchema.extend({ publicKey: base64url(2048).min(1), counter: z.number().int().min(0) }),
});

/** A password being set (the API bounds it at 256 characters, the hosted forms by their body limit). */
export const PasswordCheckInputSchema = z.object({ password: z.string().max(1_048_576) });

export type RegistrationOptionsInput = z.input<typeof RegistrationOptionsInputSchema>;
export type AuthenticationOptionsInput = z.input<typeof AuthenticationOptionsInputSchema>;
export type VerifyRegistrationInput = z.input<typeof VerifyRegistrationInputSchema>;
export type VerifyAuthenticationInput = z.input<typeof VerifyAuthenticationInputSchema>;
export type PasswordCheckInput = z.input<typeof PasswordCheckInputSchema>;

/** A verified registration: the new passkey as the gateway stores it. */
export interface VerifiedRegistration {
  credential: { id: string; publicKey: string; counter: number; transports: string[] };
  backedUp: boolean;
}

/** A verified assertion: the passkey's new signature counter and what the authenticator said. */
export interface VerifiedAuthentication {
  newCounter: number;
  userVerified: boolean;
  backedUp: boolean;
}

/**
 * Failures travel as values (thrown errors lose their fields over RPC). 422: the input broke the
 * contract (`errors` name the fields); 400: it is well formed and does not verify (`detail` says why).
 */
export type CredentialsResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: { status: 400 | 422; detail: string; errors?: { path: string; message: string }[] } };

/** The credentials Worker's RPC surface (its CredentialsService entrypoint). */
export interface CredentialsRpc {
  registrationOptions(input: RegistrationOptionsInput): Promise<CredentialsResult<Record<string, unknown>>>;
  authenticationOptions(input: AuthenticationOptionsInput): Promise<CredentialsResult<Record<string, unknown>>>;
  verifyRegistration(input: VerifyRegistrationInput): Promise<CredentialsResult<VerifiedRegistration>>;
  verifyAuthentication(input: VerifyAuthenticationInput): Promise<CredentialsResult<VerifiedAuthentication>>;
  /** Whether the password is on the common-password list (also with digits or symbols around it). */
  isCommonPassword(input: PasswordCheckInput): Promise<CredentialsResult<{ common: boolean }>>;
}
