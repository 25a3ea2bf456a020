import type { Context } from "hono";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { ApiError, readTextLimited } from "@buildly/shared";
import { authConfig, type AuthConfig } from "../config";
import { SIGNING_ALG, verificationKey } from "../keys";
import type { ClientRow } from "../db/schema";
import type { GatewayEnv } from "../../types";
import { findClient, postLogoutUrisOf } from "./app-clients";
import { errorPage, escapeHtml, hiddenFields, page } from "./pages";
import { currentSession, endSession, readCookie, setCookie } from "./sessions";
import { randomToken } from "../crypto";

/**
 * GET/POST /v1/auth/logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
 * post_logout_redirect_uri must equal one the client registered, character for character; the
 * client is the id_token_hint's audience or client_id. Without a hint naming the signed-in
 * user, the user confirms first (a forced logout from another site is refused).
 */

const CSRF_COOKIE = "buildly_csrf";

/** The hint's claims if we signed it (its expiry does not matter here: it only names who and which client). */
async function hintClaims(d1: D1Database, cfg: AuthConfig, hint: string) {
  try {
    const { kid } = decodeProtectedHeader(hint);
    if (typeof kid !== "string") return undefined;
    const key = await verificationKey(d1, cfg.signingSecret, kid);
    if (!key) return undefined;
    const { payload } = await jwtVerify(hint, key, { algorithms: [SIGNING_ALG], issuer: cfg.issuer, clockTolerance: Number.MAX_SAFE_INTEGER });
    return payload;
  } catch {
    return undefined;
  }
}

interface LogoutRequest {
  client?: ClientRow;
  redirect?: string;
  state?: string;
  sub?: string;
  raw: Record<string, string>;
}

async function parse(c: Context<GatewayEnv>, cfg: AuthConfig, v: Record<string, string>): Promise<LogoutRequest | string> {
  let client: ClientRow | undefined;
  let sub: string | undefined;
  if (v.id_token_hint) {
    const claims = await hintClaims(c.env.DB, cfg, v.id_token_hint);
    if (!claims) return "The id_token_hint is not an ID token this platform issued.";
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    if (v.client_id && v.client_id !== aud) return "client_id differs from the ID token's audience.";
    client = aud ? await findClient(c.env.DB, aud) : undefined;
    sub = claims.sub;
  } else if (v.client_id) {
    client = await findClient(c.env.DB, v.client_id);
    if (!client) return "The application is not known.";
  }
  if (v.post_logout_redirect_uri) {
    if (client?.status !== "active") return "post_logout_redirect_uri needs id_token_hint or client_id naming an active application.";
    if (!postLogoutUrisOf(c.env, client, cfg.issuer).includes(v.post_logout_redirect_uri)) {
      return "The post_logout_redirect_uri is not one this application registered. You were not sent anywhere.";
    }
  }
  const raw = Object.fromEntries(["id_token_hint", "client_id", "post_logout_redirect_uri", "state"].filter((k) => v[k] !== undefined).map((k) => [k, v[k]!]));
  return { client, redirect: v.post_logout_redirect_uri, state: v.state, sub, raw };
}

function finish(c: Context<GatewayEnv>, req: LogoutRequest, status: 302 | 303) {
  if (req.redirect) {
    const url = new URL(req.redirect);
    if (req.state !== undefined) url.searchParams.append("state", req.state);
    c.header("cache-control", "no-store");
    return c.redirect(url.href, status);
  }
  return page(c, 200, "Signed out", "<p>You are signed out.</p>");
}

function single(entries: URLSearchParams): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k in out) return `The parameter ${k} is repeated.`;
    if (v.length > 8000) return `${k} is too long.`;
    out[k] = v;
  }
  return out;
}

export async function logoutGet(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  const params = single(new URL(c.req.url).searchParams);
  if (typeof params === "string") return errorPage(c, params);
  const req = await parse(c, cfg, params);
  if (typeof req === "string") return errorPage(c, req);
  const session = await currentSession(c, cfg.issuer);
  // The hint names the signed-in user (or nobody is signed in): the client asked for its own user's logout.
  if (!session || (req.sub && req.sub === session.user.id)) {
    await endSession(c, cfg.issuer);
    return finish(c, req, 302);
  }
  let csrf = readCookie(c, cfg.issuer, CSRF_COOKIE);
  if (!csrf) {
    csrf = randomToken(32);
    setCookie(c, cfg.issuer, CSRF_COOKIE, csrf, null);
  }
  const targets = req.redirect ? [new URL(req.redirect).origin] : [];
  return page(
    c,
    200,
    "Sign out?",
    `<p>Sign out of Buildly as <strong>${escapeHtml(session.user.email)}</strong>?</p>
<form method="post" action="/v1/auth/logout">${hiddenFields({ ...req.raw, csrf })}<button type="submit">Sign out</button></form>`,
    targets,
  );
}

export async function logoutPost(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  let text: string;
  try {
    text = await readTextLimited(c.req.raw, 16 * 1024);
  } catch (err) {
    if (err instanceof ApiError) return errorPage(c, "The form is too large.");
    throw err;
  }
  const params = single(new URLSearchParams(text));
  if (typeof params === "string") return errorPage(c, params);
  const site = c.req.header("sec-fetch-site");
  const origin = c.req.header("origin");
  const cookie = readCookie(c, cfg.issuer, CSRF_COOKIE);
  if ((site && site !== "same-origin" && site !== "none") || (origin && origin !== new URL(cfg.issuer).origin) || !cookie || cookie !== params.csrf) {
    return errorPage(c, "This form could not be verified (it may have come from another site). Nothing was changed.", 403);
  }
  const req = await parse(c, cfg, params);
  if (typeof req === "string") return errorPage(c, req);
  await endSession(c, cfg.issuer);
  return finish(c, req, 303);
}
