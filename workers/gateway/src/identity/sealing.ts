/**
 * Private signing keys at rest: AES-GCM under a key derived (HKDF-SHA256) from
 * SIGNING_KEYS_SECRET. Only WebCrypto and the encoding helpers, so the e2e suite runs the
 * same code in Node to read the local keys.
 */
import { fromBase64Url, toBase64Url } from "@buildly/shared/encoding";

async function aesKey(secret: string) {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("buildly-signing-keys"), info: new Uint8Array() },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function encryptText(secret: string, text: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await aesKey(secret), new TextEncoder().encode(text));
  return `${toBase64Url(iv)}.${toBase64Url(sealed)}`;
}

export async function decryptText(secret: string, sealed: string): Promise<string> {
  const [iv, data] = sealed.split(".");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64Url(iv!) }, await aesKey(secret), fromBase64Url(data!));
  return new TextDecoder().decode(plain);
}
