// Test kit for second factors: the code flow's first and last steps, TOTP codes, and a software
// WebAuthn authenticator (ES256, "none" attestation) that answers the gateway's real challenges
// the way a security key would, so the server's verification runs unchanged.
import { expect } from "vitest";
import { Secret, TOTP } from "otpauth";
import { pkce } from "./browser";
import { call, form } from "./helpers";

export const REDIRECT = "https://app.example.com/callback";

export async function authorizeParams(client_id: string) {
  const { verifier, challenge } = await pkce();
  const params: Record<string, string> = {
    response_type: "code",
    client_id,
    redirect_uri: REDIRECT,
    scope: "openid profile email offline_access read write",
    state: `st-${crypto.randomUUID()}`,
    nonce: `n-${crypto.randomUUID()}`,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  return { verifier, params, url: `/v1/auth/authorize?${new URLSearchParams(params)}` };
}

/** Exchanges the redirect's code for tokens (a public client). */
export async function exchange(location: string, client_id: string, verifier: string) {
  const code = new URL(location).searchParams.get("code");
  expect(code, location).toBeTruthy();
  const res = await call("/v1/auth/token", form({ grant_type: "authorization_code", code: code!, redirect_uri: REDIRECT, code_verifier: verifier, client_id }));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<{ access_token: string; id_token: string; refresh_token: string }>();
}

/** The code an authenticator app shows for `secret` at `at` (ms). */
export function totpCode(secret: string, at = Date.now()): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp: at });
}

/** The software authenticator the tests register and sign in with (shared with the credentials Worker's tests). */
export { SoftAuthenticator } from "@buildly/shared/test/webauthn";
