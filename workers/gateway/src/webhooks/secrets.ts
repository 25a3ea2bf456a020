/**
 * Signing secrets: Standard Webhooks form `whsec_<base64 of 32 random bytes>`, at rest AES-GCM
 * sealed under a key derived (HKDF-SHA256) from SIGNING_KEYS_SECRET with its own salt, so it is
 * a different key from the one that seals the token signing keys (identity/sealing.ts).
 */
import { fromBase64Url, toBase64Url } from "@buildly/shared/encoding";

const SALT = new TextEncoder().encode("buildly-webhook-secrets");

function rootSecret(env: Env): string {
  const secret = env.SIGNING_KEYS_SECRET;
  if (typeof secret !== "string" || secret.length < 32) throw new Error("SIGNING_KEYS_SECRET is missing or shorter than 32 characters");
  return secret;
}

async function aesKey(secret: string) {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: SALT, info: new Uint8Array() }, base, { name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
}

export function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

export async function sealSecret(env: Env, text: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await aesKey(rootSecret(env)), new TextEncoder().encode(text));
  return `${toBase64Url(iv)}.${toBase64Url(sealed)}`;
}

export async function openSecret(env: Env, sealed: string): Promise<string> {
  const [iv, data] = sealed.split(".");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64Url(iv!) }, await aesKey(rootSecret(env)), fromBase64Url(data!));
  return new TextDecoder().decode(plain);
}
