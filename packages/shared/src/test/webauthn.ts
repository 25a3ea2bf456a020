// A software WebAuthn authenticator (ES256, "none" attestation) for tests inside workerd: it answers
// real WebAuthn options the way a security key would, so a server's verification runs unchanged.
// The gateway's second-factor tests and the credentials Worker's tests both drive it.
import { fromBase64Url, toBase64Url } from "../encoding";

/** The origin the gateway's tests call (its vitest.config.ts ISSUER): the default relying party. */
const DEFAULT_ORIGIN = "https://gateway.example";

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

  static async create(origin = DEFAULT_ORIGIN) {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    return new SoftAuthenticator(keys, crypto.getRandomValues(new Uint8Array(16)), origin);
  }

  get id() {
    return toBase64Url(this.credentialId);
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
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromBase64Url(jwk.x!)],
        [-3, fromBase64Url(jwk.y!)],
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
        clientDataJSON: toBase64Url(this.clientData("webauthn.create", options.challenge)),
        attestationObject: toBase64Url(attestationObject),
        transports: ["internal"],
      },
    };
  }

  /** Answers PublicKeyCredentialRequestOptionsJSON (rpId from the options, or the issuer's host). */
  async assert(options: any, opts: { userHandle?: string | null } = {}) {
    this.counter++;
    const authData = await this.authData(options.rpId ?? new URL(DEFAULT_ORIGIN).hostname, 0x05);
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
        clientDataJSON: toBase64Url(clientDataJSON),
        authenticatorData: toBase64Url(authData),
        signature: toBase64Url(der(raw)),
        ...(userHandle ? { userHandle } : {}),
      },
    };
  }
}
