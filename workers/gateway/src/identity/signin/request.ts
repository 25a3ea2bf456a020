import type { Context } from "hono";
import type { AuthConfig } from "../config";
import { randomToken } from "../crypto";
import type { ClientRow } from "../db/schema";
import { relyingParty } from "../mfa/passkeys";
import { SCOPE_NAMES, SCOPES } from "../scopes";
import type { GatewayEnv } from "../../types";
import { findClient, redirectUriAllowed, redirectUrisOf } from "./app-clients";
import { readCookie, setCookie } from "./sessions";

/**
 * An authorization request as the hosted pages carry it (GET/POST /v1/auth/authorize, and the
 * single sign-on and second-factor steps that resume it): its parameters, their validation, and
 * the CSRF token every one of those forms echoes.
 */

const MAX_PARAM = 2000;
export const PARAMS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
  "nonce",
  "prompt",
  "max_age",
  "login_hint",
  "response_mode",
  // Single sign-on: offer this connected provider (its id or issuer) on the login page.
  "idp_hint",
] as const;

export interface AuthorizationRequest {
  client: ClientRow;
  redirect_uri: string;
  scope: string;
  state?: string;
  nonce?: string;
  code_challenge: string;
  prompt: Set<string>;
  max_age?: number;
  login_hint?: string;
  /** The parameters as received, carried through the login and consent forms. */
  raw: Record<string, string>;
}

export type Parsed =
  | { ok: true; req: AuthorizationRequest }
  | { ok: false; page: string }
  | { ok: false; redirect: { redirect_uri: string; error: string; description: string; state?: string } };

export class RequestParams {
  constructor(
    readonly values: Record<string, string>,
    readonly repeated: Set<string>,
  ) {}
}

export function collect(entries: Iterable<[string, string]>): RequestParams {
  const values: Record<string, string> = {};
  const repeated = new Set<string>();
  for (const [k, v] of entries) {
    if (k in values) repeated.add(k);
    values[k] = v;
  }
  return new RequestParams(values, repeated);
}

/** Validates an authorization request: first the client and redirect URI (never redirected), then the rest. */
export async function parseAuthorizationRequest(env: Env, cfg: AuthConfig, p: RequestParams): Promise<Parsed> {
  const v = p.values;
  for (const name of ["client_id", "redirect_uri"]) {
    if (p.repeated.has(name)) return { ok: false, page: `The parameter ${name} is repeated.` };
  }
  if (!v.client_id) return { ok: false, page: "The request names no client (client_id is missing)." };
  const client = await findClient(env.DB, v.client_id);
  if (client?.status !== "active") return { ok: false, page: "The application that sent you here is not known, or was revoked." };
  if (!v.redirect_uri) return { ok: false, page: "The request has no redirect_uri." };
  if (!redirectUriAllowed(redirectUrisOf(env, client, cfg.issuer), v.redirect_uri)) {
    return { ok: false, page: "The redirect_uri is not one this application registered. You were not sent anywhere." };
  }
  const redirect_uri = v.redirect_uri;
  const state = v.state;
  const fail = (error: string, description: string): Parsed => ({ ok: false, redirect: { redirect_uri, error, description, state } });
  if (p.repeated.size) return fail("invalid_request", `Repeated parameters: ${[...p.repeated].join(", ")}.`);
  for (const name of PARAMS) {
    if ((v[name]?.length ?? 0) > MAX_PARAM) return fail("invalid_request", `${name} is longer than ${MAX_PARAM} characters.`);
  }
  if (v.request || v.request_uri) return fail(v.request ? "request_not_supported" : "request_uri_not_supported", "Request objects are not supported.");
  if (v.response_mode && v.response_mode !== "query") return fail("invalid_request", "Only response_mode=query is supported.");
  if (v.response_type !== "code") {
    return fail(v.response_type ? "unsupported_response_type" : "invalid_request", "response_type must be code.");
  }
  if (!client.grant_types.includes("authorization_code")) return fail("unauthorized_client", "This client may not use the authorization code flow.");
  // PKCE with S256 for every client (OAuth 2.1): plain or no method is a downgrade and refused.
  if (!v.code_challenge) return fail("invalid_request", "code_challenge is required (PKCE with S256).");
  if (v.code_challenge_method !== "S256") return fail("invalid_request", "code_challenge_method must be S256.");
  if (!/^[A-Za-z0-9_-]{43}$/.test(v.code_challenge))
    return fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters).");
  const asked = (v.scope ?? "").split(" ").filter(Boolean);
  if (asked.length === 0) return fail("invalid_scope", "scope is required (e.g. openid).");
  const unknown = asked.filter((s) => !Object.hasOwn(SCOPES, s));
  if (unknown.length) return fail("invalid_scope", `Unknown scope: ${unknown.join(" ")}.`);
  const refused = asked.filter((s) => !client.scopes.includes(s));
  if (refused.length) return fail("invalid_scope", `This client may not ask for ${refused.join(" ")}.`);
  const scope = SCOPE_NAMES.filter((s) => asked.includes(s)).join(" ");
  const prompt = new Set((v.prompt ?? "").split(" ").filter(Boolean));
  for (const x of prompt) if (!["none", "login", "consent"].includes(x)) return fail("invalid_request", `prompt=${x} is not supported.`);
  if (prompt.has("none") && prompt.size > 1) return fail("invalid_request", "prompt=none cannot be combined with other values.");
  let max_age: number | undefined;
  if (v.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(v.max_age)) return fail("invalid_request", "max_age must be a whole number of seconds.");
    max_age = Number(v.max_age);
  }
  const raw = Object.fromEntries(PARAMS.filter((k) => v[k] !== undefined).map((k) => [k, v[k]!]));
  return {
    ok: true,
    req: { client, redirect_uri, scope, state, nonce: v.nonce, code_challenge: v.code_challenge, prompt, max_age, login_hint: v.login_hint, raw },
  };
}

const CSRF_COOKIE = "buildly_csrf";

/** The double-submit CSRF token: a random value in a `__Host-` cookie, echoed by every form. */
export function csrfToken(c: Context<GatewayEnv>, cfg: AuthConfig): string {
  const existing = readCookie(c, cfg.issuer, CSRF_COOKIE) ?? csrfSet.get(c);
  if (existing) return existing;
  const token = randomToken(32);
  setCookie(c, cfg.issuer, CSRF_COOKIE, token, null);
  csrfSet.set(c, token);
  return token;
}

/** The token a response already set (a page with several forms asks more than once). */
const csrfSet = new WeakMap<Context<GatewayEnv>, string>();

/** A form post is ours when its CSRF field matches the cookie and no browser says it came from elsewhere. */
export function csrfOk(c: Context<GatewayEnv>, cfg: AuthConfig, form: Record<string, string>): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = c.req.header("origin");
  if (origin && origin !== "null" && origin !== new URL(cfg.issuer).origin && origin !== relyingParty(cfg.issuer).origin) return false;
  if (origin === "null") return false;
  const cookie = readCookie(c, cfg.issuer, CSRF_COOKIE);
  const field = form.csrf ?? "";
  if (!cookie || cookie.length !== field.length) return false;
  const enc = new TextEncoder();
  return crypto.subtle.timingSafeEqual(enc.encode(cookie), enc.encode(field));
}
