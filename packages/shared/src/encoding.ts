import { base64url } from "jose";

/**
 * Byte encodings every Worker needs. Base64url (RFC 4648 section 5, unpadded) is jose's, the
 * library the gateway already signs tokens with; these wrappers only accept an ArrayBuffer too.
 * Hex has no library in our stack and is one line.
 */

const bytesOf = (bytes: Uint8Array | ArrayBuffer) => (bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));

export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  return Array.from(bytesOf(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The SHA-256 of a text's UTF-8 bytes, as lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export function toBase64Url(bytes: Uint8Array | ArrayBuffer): string {
  return base64url.encode(bytesOf(bytes));
}

/** Throws on text that is not base64url; callers that read client input turn that into a 4xx. */
export function fromBase64Url(text: string): Uint8Array {
  return base64url.decode(text);
}
