// What a browser does on the gateway's hosted pages (sign-in, consent, second factors, single
// sign-on), for the tests that drive them over HTTP: a cookie jar, form posts from the gateway's
// own origin, the hidden fields of a page's form, and PKCE.
import { call } from "./helpers";

/** The public origin the tests call (vitest.config.ts: ISSUER). */
export const ISSUER = "https://gateway.example";

export function b64url(bytes: Uint8Array | ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function s256(verifier: string): Promise<string> {
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

export async function pkce() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await s256(verifier) };
}

/** A browser's cookie jar for the gateway's origin; `setCookies` keeps every Set-Cookie it was sent. */
export class Browser {
  cookies = new Map<string, string>();
  setCookies: string[] = [];
  header(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
  }
  take(res: Response) {
    for (const sc of res.headers.getSetCookie()) {
      this.setCookies.push(sc);
      const [pair] = sc.split(";");
      const i = pair!.indexOf("=");
      if (/Max-Age=0/i.test(sc)) this.cookies.delete(pair!.slice(0, i));
      else this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return res;
  }
  async get(path: string, headers: Record<string, string> = {}) {
    return this.take(await call(path, { headers: { ...this.header(), ...headers }, redirect: "manual" }));
  }
  /** A form posted from a page of the gateway's own origin. */
  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.take(
      await call(path, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ISSUER, "sec-fetch-site": "same-origin", ...this.header(), ...headers },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }
}

const decode = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

function hiddenFields(form: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[decode(m[1]!)] = decode(m[2]!);
  return out;
}

/** The hidden fields of the page's form holding a field whose value is `action` (without one: the last form). */
export function formFields(html: string, action?: string): Record<string, string> {
  const forms = [...html.matchAll(/<form[^>]*>([\s\S]*?)<\/form>/g)].map((m) => m[1]!);
  const chosen = action ? forms.find((f) => f.includes(`value="${action}"`)) : forms.at(-1);
  if (!chosen) throw new Error(`no form with ${action} in ${html}`);
  return hiddenFields(chosen);
}

/** The hidden fields of the page's form that posts to `target` (its action attribute). */
export function formPostingTo(html: string, target: string): Record<string, string> {
  const chosen = [...html.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].find((m) => m[1] === target);
  if (!chosen) throw new Error(`no form to ${target} in ${html}`);
  return hiddenFields(chosen[2]!);
}
