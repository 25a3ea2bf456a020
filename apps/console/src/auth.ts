import type { Tokens } from "@buildly/sdk";

/**
 * Sign-in: the platform's hosted login, authorization code + PKCE (S256), as the organization's
 * first-party public console client. Tokens live in memory only. What survives a reload is the
 * hosted login's own session cookie (HttpOnly, never readable here): a reload starts a silent
 * authorize (prompt=none) that comes straight back with a new code while that session lives, and
 * shows the sign-in button when it has ended. sessionStorage holds only the one flow in flight
 * (state, nonce, PKCE verifier), removed when the browser comes back.
 */

const CLIENT_KEY = "buildly.console.client_id";
const FLOW_KEY = "buildly.console.flow";
export const BASE = "/console/";
export const SCOPE = "openid profile email offline_access read write";

export const redirectUri = () => `${location.origin}${BASE}callback`;
export const afterLogout = () => `${location.origin}${BASE}`;

/** The console client's id: from ?client_id= (then remembered in this browser), else remembered. */
export function clientId(): string | null {
  const asked = new URLSearchParams(location.search).get("client_id");
  if (asked && /^[\w-]{1,200}$/.test(asked)) {
    localStorage.setItem(CLIENT_KEY, asked);
    return asked;
  }
  return localStorage.getItem(CLIENT_KEY);
}

export function forgetClientId() {
  localStorage.removeItem(CLIENT_KEY);
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const random = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  silent: boolean;
  client: string;
}

/** Leaves the page for the hosted login (or, silent, for a check of its session). */
export async function startSignIn(client: string, opts: { silent: boolean; returnTo: string }) {
  const flow: Flow = { state: random(), nonce: random(), verifier: random(48), returnTo: opts.returnTo, silent: opts.silent, client };
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(flow.verifier))));
  sessionStorage.setItem(FLOW_KEY, JSON.stringify(flow));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: client,
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (opts.silent) q.set("prompt", "none");
  location.assign(`/v1/auth/authorize?${q}`);
}

export type SignInResult = { ok: true; tokens: Tokens; idToken?: string; returnTo: string; client: string } | { ok: false; silent: boolean; message?: string };

/** On /console/callback: checks state and issuer, and trades the code for tokens. */
export async function finishSignIn(): Promise<SignInResult> {
  const q = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(FLOW_KEY);
  sessionStorage.removeItem(FLOW_KEY);
  const flow = raw ? (JSON.parse(raw) as Flow) : undefined;
  if (!flow || q.get("state") !== flow.state)
    return { ok: false, silent: false, message: "This sign-in was not started here, or has already been used. Sign in again." };
  if (q.get("iss") !== location.origin) return { ok: false, silent: false, message: "The answer came from another issuer." };
  const error = q.get("error");
  if (error) return { ok: false, silent: flow.silent, message: flow.silent ? undefined : `${error}: ${q.get("error_description") ?? ""}` };
  const res = await fetch("/v1/auth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: q.get("code") ?? "",
      redirect_uri: redirectUri(),
      code_verifier: flow.verifier,
      client_id: flow.client,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== "string") {
    return {
      ok: false,
      silent: false,
      message: `The token endpoint answered ${res.status}: ${String(body.error_description ?? body.error ?? body.title ?? "")}`,
    };
  }
  return {
    ok: true,
    client: flow.client,
    returnTo: flow.returnTo,
    idToken: typeof body.id_token === "string" ? body.id_token : undefined,
    tokens: {
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : undefined,
      expiresAt: Date.now() + Number(body.expires_in ?? 900) * 1000,
      scope: typeof body.scope === "string" ? body.scope : undefined,
    },
  };
}

/** Ends the hosted login's session too (the id token names the user, so no confirmation page). */
export function signOut(client: string, idToken?: string) {
  const q = new URLSearchParams({ client_id: client, post_logout_redirect_uri: afterLogout() });
  if (idToken) q.set("id_token_hint", idToken);
  location.assign(`/v1/auth/logout?${q}`);
}
