// Test kit for second factors: the code flow's first and last steps, TOTP codes, and a software
// WebAuthn authenticator (ES256, "none" attestation) that answers the gateway's real challenges
// the way a security key would, so the server's verification runs unchanged.
import { expect } from "vitest";
import { Secret, TOTP } from "otpauth";
import { ISSUER, b64url, pkce } from "./browser";
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

function cbor(value: unknown): Uint8Array {
  const out: number[] = [];
  const head = (major: number, n: number) => {
    if (n < 24) out.push((major << 5) | n);
    else if (n < 256) out.push((major << 5) | 24, n);
    else out.push((major << 5) | 25, n >> 8, n & 255);
  };
  const enc = (x: unknown) => {
    if (typeof x === "number") x >= 0 ? head(0, x) : head(1, -1 - x);
    else if (typeof x === "string") {
      const b = new TextEncoder().encode(x);
      head(3, b.length);
      out.push(...b);
    } else if (x instanceof Uint8Array) {
      head(2, x.length);
      out.push(...x);
    } else if (x instanceof Map) {
      head(5, x.size);
      for (const [k, v] of x) {
        enc(k);
        enc(v);
      }
    } else throw new Error("cbor: unsupported value");
  };
  enc(value);
  return new Uint8Array(out);
}

/** ECDSA raw r||s to the ASN.1 DER signature WebAuthn carries. */
function der(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.slice(i);
    if (v[0]! & 0x80) v = Uint8Array.of(0, ...v);
    return [0x02, v.length, ...v];
  };
  const r = int(raw.slice(0, 32));
  const s = int(raw.slice(32));
  return new Uint8Array([0x30, r.length + s.length, ...r, ...s]);
}

const sha256 = async (b: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", b));

/** A device-bound passkey on a software authenticator that verifies its user. */
export class SoftAuthenticator {
  counter = 0;
  userHandle?: string;
  private constructor(
    readonly keys: CryptoKeyPair,
    readonly credentialId: Uint8Array,
    readonly origin: string,
  ) {}

  static async create(origin = ISSUER) {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    return new SoftAuthenticator(keys, crypto.getRandomValues(new Uint8Array(16)), origin);
  }

  get id() {
    return b64url(this.credentialId);
  }

  private async authData(rpId: string, flags: number, extra: number[] = []) {
    const c = this.counter;
    return new Uint8Array([...(await sha256(new TextEncoder().encode(rpId))), flags, c >>> 24, (c >> 16) & 255, (c >> 8) & 255, c & 255, ...extra]);
  }

  private clientData(type: string, challenge: string) {
    return new TextEncoder().encode(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** Answers PublicKeyCredentialCreationOptionsJSON. */
  async register(options: any) {
    this.userHandle ??= options.user.id;
    const jwk = (await crypto.subtle.exportKey("jwk", this.keys.publicKey)) as JsonWebKey;
    const pad = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, pad(jwk.x!)],
        [-3, pad(jwk.y!)],
      ]),
    );
    const attested = [...new Uint8Array(16), 0, this.credentialId.length, ...this.credentialId, ...cose];
    const authData = await this.authData(options.rp.id, 0x45, attested);
    const attestationObject = cbor(
      new Map<string, unknown>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
      response: {
        clientDataJSON: b64url(this.clientData("webauthn.create", options.challenge)),
        attestationObject: b64url(attestationObject),
        transports: ["internal"],
      },
    };
  }

  /** Answers PublicKeyCredentialRequestOptionsJSON (rpId from the options, or the issuer's host). */
  async assert(options: any, opts: { userHandle?: string | null } = {}) {
    this.counter++;
    const authData = await this.authData(options.rpId ?? new URL(ISSUER).hostname, 0x05);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge);
    const signed = new Uint8Array([...authData, ...(await sha256(clientDataJSON))]);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, signed));
    const userHandle = opts.userHandle === undefined ? this.userHandle : opts.userHandle;
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(der(raw)),
        ...(userHandle ? { userHandle } : {}),
      },
    };
  }
}
