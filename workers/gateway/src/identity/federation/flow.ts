import type { Context } from "hono";
import { and, eq, gt, isNull } from "drizzle-orm";
import { ApiError, isUniqueViolation, newId, nowIso, readTextLimited } from "@buildly/shared";
import { findUserByEmail, normalizeEmail } from "../accounts";
import { authConfig, type AuthConfig } from "../config";
import { randomToken, sha256Hex, verifyPassword } from "../crypto";
import { db } from "../db/client";
import { roles, userRoles, users, type UserRow } from "../db/schema";
import { reservePasswordAttempt } from "../login-guard";
import { decryptText } from "../sealing";
import { proceed } from "../signin/authorize";
import { type AuthorizationRequest, collect, csrfOk, csrfToken, parseAuthorizationRequest, PARAMS } from "../signin/request";
import { CALLBACK_PATH, LINK_PATH, providersOf } from "./options";
import { errorPage, escapeHtml, hiddenFields, page } from "../signin/pages";
import { readCookie, setCookie, startSession } from "../signin/sessions";
import { identityEvent, outboxInsert, relaySoon, systemActor, userActor } from "../../events/emit";
import type { GatewayEnv } from "../../types";
import { federatedIdentities, federationStates, identityProviders, type FederationStateRow, type IdentityProviderRow } from "./db";
import { emailDomain, mappedRoles } from "./claims";
import { boundedFetch, discover, IdTokenError, UpstreamError, verifyIdToken } from "./upstream";

/**
 * Single sign-on through an organization's own OpenID provider. The hosted login page offers
 * "Continue with <provider>" (home realm discovery on the email's domain, `idp_hint`, or every
 * provider when the organization requires SSO); the upstream leg is the authorization code flow
 * with PKCE, `state` (also bound to the browser by a cookie) and `nonce`; the callback verifies
 * the upstream ID token, finds the account by the upstream iss + sub (never by email alone),
 * provisions it (JIT) or links it (the account's password, once), then resumes the original
 * authorization request. Every refusal is a page, and nothing is written before it is decided.
 */

const FED_COOKIE = "buildly_federation";
const STATE_TTL_SECONDS = 600;
/** The password hash of an account made by SSO: no password matches it (the scheme is unknown to verifyPassword). */
export const NO_PASSWORD = "sso$no-password";
export const AMR_FEDERATED = "fed";

export function callbackUrl(issuer: string) {
  return `${issuer}${CALLBACK_PATH}`;
}

/** The authorization request a federation form or state carries (its OAuth parameters only). */
async function requestFrom(env: Env, cfg: AuthConfig, values: Record<string, string>) {
  const oauthOnly = Object.entries(values).filter(([k]) => (PARAMS as readonly string[]).includes(k));
  return parseAuthorizationRequest(env, cfg, collect(oauthOnly));
}

async function readForm(c: Context<GatewayEnv>): Promise<Record<string, string> | Response> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return errorPage(c, "Send the form as application/x-www-form-urlencoded.");
  try {
    const p = collect(new URLSearchParams(await readTextLimited(c.req.raw, 16 * 1024)));
    if (p.repeated.size) return errorPage(c, `Repeated fields: ${[...p.repeated].join(", ")}.`);
    return p.values;
  } catch (err) {
    if (err instanceof ApiError) return errorPage(c, "The form is too large.");
    throw err;
  }
}

const csrfRefused = (c: Context<GatewayEnv>) =>
  errorPage(
    c,
    "This form could not be verified (it may have come from another site, or your session expired). Go back to the application and start again.",
    403,
  );

/** POST /v1/auth/federation/start: sends the browser to the upstream provider (code + PKCE, state, nonce). */
export async function federationStart(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  const form = await readForm(c);
  if (form instanceof Response) return form;
  if (!csrfOk(c, cfg, form)) return csrfRefused(c);
  const parsed = await requestFrom(c.env, cfg, form);
  if (!parsed.ok) return errorPage(c, "page" in parsed ? parsed.page : parsed.redirect.description);
  const req = parsed.req;
  const provider = (await providersOf(c.env.DB, req.client.organization_id)).find((p) => p.id === form.provider);
  if (!provider) return errorPage(c, "This identity provider is not connected to the organization of this application.");
  let doc: Awaited<ReturnType<typeof discover>>;
  try {
    doc = await discover(provider.issuer, cfg.issuer);
  } catch (err) {
    if (err instanceof UpstreamError) return errorPage(c, `${provider.name} cannot be reached right now. Try again later.`);
    throw err;
  }
  const state = randomToken(32);
  const nonce = randomToken(32);
  const verifier = randomToken(48);
  const now = Date.now();
  await db(c.env.DB)
    .insert(federationStates)
    .values({
      id: newId(),
      state_hash: await sha256Hex(state),
      provider_id: provider.id,
      organization_id: provider.organization_id,
      stage: "upstream",
      nonce,
      code_verifier: verifier,
      request: req.raw,
      expires_at: new Date(now + STATE_TTL_SECONDS * 1000).toISOString(),
      created_at: new Date(now).toISOString(),
    });
  // The state is also bound to this browser: a callback carrying someone else's state finds no cookie to match.
  setCookie(c, cfg.issuer, FED_COOKIE, state, STATE_TTL_SECONDS);
  const challenge = await pkceChallenge(verifier);
  const url = new URL(doc.authorization_endpoint);
  const q = {
    response_type: "code",
    client_id: provider.client_id,
    redirect_uri: callbackUrl(cfg.issuer),
    scope: "openid email profile",
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...(form.email ? { login_hint: form.email.slice(0, 254) } : {}),
  };
  for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  return c.redirect(url.href, 303);
}

async function pkceChallenge(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  const enc = new TextEncoder();
  return crypto.subtle.timingSafeEqual(enc.encode(a), enc.encode(b));
}

/** Spends a state row: exactly one caller wins, and only before it expires. */
async function takeState(d1: D1Database, token: string, stage: "upstream" | "link"): Promise<FederationStateRow | undefined> {
  const now = nowIso();
  return db(d1)
    .update(federationStates)
    .set({ used_at: now })
    .where(
      and(
        eq(federationStates.state_hash, await sha256Hex(token)),
        eq(federationStates.stage, stage),
        isNull(federationStates.used_at),
        gt(federationStates.expires_at, now),
      ),
    )
    .returning()
    .get();
}

async function recordSso(
  c: Context<GatewayEnv>,
  type: "identity.login.succeeded" | "identity.login.failed",
  provider: IdentityProviderRow,
  data: Record<string, unknown>,
  userId?: string,
) {
  const actor = userId && type === "identity.login.succeeded" ? userActor(c, userId) : systemActor(c.get("requestId") ?? null);
  const event = identityEvent(actor, type, {
    subject: userId ?? provider.id,
    organizationid: provider.organization_id,
    data: { ...(userId ? { id: userId } : {}), method: "sso", provider_id: provider.id, issuer: provider.issuer, grant_type: "authorization_code", ...data },
  });
  await outboxInsert(db(c.env.DB), event);
  relaySoon(c);
}

/** A refusal of a federated sign-in: a page that says why, and an audit event; nothing else written. */
async function refuse(c: Context<GatewayEnv>, provider: IdentityProviderRow | undefined, message: string, reason: string, userId?: string) {
  if (provider) await recordSso(c, "identity.login.failed", provider, { reason }, userId);
  return errorPage(c, message);
}

/** GET /v1/auth/federation/callback: the upstream provider sends the browser back here. */
export async function federationCallback(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  const q = new URL(c.req.url).searchParams;
  const state = q.get("state") ?? "";
  const cookie = readCookie(c, cfg.issuer, FED_COOKIE);
  setCookie(c, cfg.issuer, FED_COOKIE, "", 0);
  if (!sameToken(state, cookie)) {
    return errorPage(c, "This sign-in did not start in this browser (the state does not match). Go back to the application and start again.");
  }
  const row = await takeState(c.env.DB, state, "upstream");
  if (!row) return errorPage(c, "This sign-in is unknown, was already used, or took too long. Go back to the application and start again.");
  const provider = await db(c.env.DB)
    .select()
    .from(identityProviders)
    .where(and(eq(identityProviders.id, row.provider_id), eq(identityProviders.organization_id, row.organization_id)))
    .get();
  if (!provider) return errorPage(c, "This identity provider was disconnected from the organization.");
  const upstreamError = q.get("error");
  if (upstreamError) {
    return refuse(c, provider, `${provider.name} did not sign you in (${upstreamError.slice(0, 100)}).`, "upstream_error");
  }
  // RFC 9207: a provider that names itself in the response must name the one we sent the user to.
  const iss = q.get("iss");
  if (iss !== null && iss !== provider.issuer)
    return refuse(c, provider, "The answer came from another identity provider than the one you were sent to.", "wrong_iss");
  const code = q.get("code");
  if (!code || code.length > 4096) return refuse(c, provider, `${provider.name} sent no authorization code.`, "no_code");
  const parsed = await requestFrom(c.env, cfg, row.request);
  if (!parsed.ok) return errorPage(c, "page" in parsed ? parsed.page : parsed.redirect.description);
  const req = parsed.req;

  let claims: Record<string, unknown>;
  try {
    const doc = await discover(provider.issuer, cfg.issuer);
    const secret = await decryptText(cfg.signingSecret, provider.client_secret_sealed);
    const basic = btoa(`${encodeURIComponent(provider.client_id)}:${encodeURIComponent(secret)}`);
    const { status, text } = await boundedFetch(doc.token_endpoint, cfg.issuer, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: callbackUrl(cfg.issuer), code_verifier: row.code_verifier }).toString(),
    });
    let body: { id_token?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {}
    if (status !== 200 || typeof body.id_token !== "string") {
      return refuse(c, provider, `${provider.name} did not accept the sign-in (its token endpoint answered ${status}).`, "token_exchange");
    }
    claims = await verifyIdToken(body.id_token, {
      issuer: provider.issuer,
      clientId: provider.client_id,
      nonce: row.nonce,
      jwksUri: doc.jwks_uri,
      gatewayIssuer: cfg.issuer,
    });
  } catch (err) {
    if (err instanceof IdTokenError) return refuse(c, provider, `${err.message} The sign-in was refused.`, "id_token");
    if (err instanceof UpstreamError) return refuse(c, provider, `${provider.name} cannot be reached right now. Try again later.`, "unreachable");
    throw err;
  }
  return signInFederated(c, cfg, req, provider, claims);
}

async function signInFederated(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  req: AuthorizationRequest,
  provider: IdentityProviderRow,
  claims: Record<string, unknown>,
) {
  const subject = String(claims.sub);
  if (claims.email_verified === false) return refuse(c, provider, `${provider.name} has not verified your email address.`, "email_unverified");
  const email = typeof claims.email === "string" ? normalizeEmail(claims.email) : "";
  if (!email || email.length > 254) return refuse(c, provider, `${provider.name} did not tell us your email address (the email scope).`, "no_email");
  const domain = emailDomain(email);
  if (!provider.allowed_domains.includes(domain)) {
    return refuse(c, provider, `Accounts of ${domain} may not sign in to this organization through ${provider.name}.`, "domain_not_allowed");
  }
  const d = db(c.env.DB);
  const link = await d
    .select()
    .from(federatedIdentities)
    .where(and(eq(federatedIdentities.provider_id, provider.id), eq(federatedIdentities.subject, subject)))
    .get();
  if (link) {
    const user = await d
      .select()
      .from(users)
      .where(and(eq(users.id, link.user_id), eq(users.organization_id, provider.organization_id)))
      .get();
    if (user?.status !== "active") return refuse(c, provider, "Your account here is deactivated.", "inactive", link.user_id);
    await d
      .update(federatedIdentities)
      .set({ last_login_at: nowIso() })
      .where(and(eq(federatedIdentities.provider_id, provider.id), eq(federatedIdentities.subject, subject)));
    return finish(c, cfg, req, provider, user, [AMR_FEDERATED]);
  }
  // No link: the email may name an account, but an email alone never signs anyone in.
  const existing = await findUserByEmail(c.env.DB, email);
  if (existing && existing.organization_id !== provider.organization_id) {
    return refuse(c, provider, "An account with this email belongs to another organization; it cannot be entered through this provider.", "other_organization");
  }
  if (existing) {
    if (existing.status !== "active" || existing.password_hash === NO_PASSWORD) {
      return refuse(c, provider, "An account with this email exists but cannot be linked here. Ask an administrator.", "not_linkable", existing.id);
    }
    return startLink(c, cfg, req, provider, existing, subject, email);
  }
  if (!provider.jit_provisioning) {
    return refuse(c, provider, "You have no account in this organization yet. Ask an administrator to invite you.", "no_account");
  }
  const roleNames = mappedRoles(provider, claims);
  if (roleNames.length === 0) return refuse(c, provider, "None of your groups gives you a role in this organization. Ask an administrator.", "no_role");
  const roleRows = await d.select({ id: roles.id, name: roles.name }).from(roles).where(eq(roles.organization_id, provider.organization_id));
  const granted = roleRows.filter((r) => roleNames.includes(r.name));
  if (granted.length === 0) return refuse(c, provider, "The roles mapped for you no longer exist in this organization. Ask an administrator.", "no_role");
  const now = nowIso();
  const user: UserRow = {
    id: newId(),
    organization_id: provider.organization_id,
    email,
    name: (typeof claims.name === "string" && claims.name.trim().slice(0, 200)) || email,
    password_hash: NO_PASSWORD,
    status: "active",
    created_at: now,
    updated_at: now,
    email_verified_at: now,
  };
  const event = identityEvent(userActor(c, user.id), "identity.user.created", {
    subject: user.id,
    organizationid: user.organization_id,
    data: { id: user.id, email, name: user.name, roles: granted.map((r) => r.name).sort(), method: "sso", provider_id: provider.id },
  });
  // One batch: the account, its roles, its link and its event, or none of them.
  try {
    await d.batch([
      d.insert(users).values(user),
      d.insert(userRoles).values(granted.map((r) => ({ user_id: user.id, role_id: r.id }))),
      d.insert(federatedIdentities).values({
        provider_id: provider.id,
        subject,
        issuer: provider.issuer,
        organization_id: provider.organization_id,
        user_id: user.id,
        email,
        created_at: now,
        last_login_at: now,
      }),
      outboxInsert(d, event),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) return refuse(c, provider, "This account was just created by another sign-in. Start again.", "race");
    throw err;
  }
  return finish(c, cfg, req, provider, user, [AMR_FEDERATED]);
}

async function finish(c: Context<GatewayEnv>, cfg: AuthConfig, req: AuthorizationRequest, provider: IdentityProviderRow, user: UserRow, amr: string[]) {
  if (user.organization_id !== req.client.organization_id) {
    return refuse(c, provider, "This account does not belong to the organization of this application.", "other_organization", user.id);
  }
  const row = await startSession(c, cfg.issuer, user, amr);
  await recordSso(c, "identity.login.succeeded", provider, { client_id: req.client.id }, user.id);
  return proceed(c, cfg, req, { row, user }, { signedIn: true }, 302);
}

/** An upstream identity whose email names an account of the organization: its password, once, links them. */
async function startLink(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  req: AuthorizationRequest,
  provider: IdentityProviderRow,
  user: UserRow,
  subject: string,
  email: string,
) {
  const token = randomToken(32);
  const now = Date.now();
  await db(c.env.DB)
    .insert(federationStates)
    .values({
      id: newId(),
      state_hash: await sha256Hex(token),
      provider_id: provider.id,
      organization_id: provider.organization_id,
      stage: "link",
      nonce: "-",
      code_verifier: "-",
      request: req.raw,
      subject,
      email,
      link_user_id: user.id,
      expires_at: new Date(now + STATE_TTL_SECONDS * 1000).toISOString(),
      created_at: new Date(now).toISOString(),
    });
  setCookie(c, cfg.issuer, FED_COOKIE, token, STATE_TTL_SECONDS);
  return linkPage(c, cfg, provider, user.email, token);
}

function linkPage(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  provider: IdentityProviderRow,
  email: string,
  token: string,
  error?: string,
  status: 200 | 400 | 429 = 200,
) {
  const csrf = csrfToken(c, cfg);
  const err = error ? `<p id="form-error" role="alert" class="error">${escapeHtml(error)}</p>` : "";
  const body = `<p>An account with <strong>${escapeHtml(email)}</strong> already exists here. Enter its password once to sign in with
<strong>${escapeHtml(provider.name)}</strong> from now on.</p>
${err}
<form method="post" action="${LINK_PATH}" novalidate>
${hiddenFields({ csrf, link: token })}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Link and sign in</button>
</form>`;
  return page(c, status, `Link your ${provider.name} account`, body);
}

/** POST /v1/auth/federation/link: the account's password proves the upstream identity may be linked to it. */
export async function federationLink(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  const form = await readForm(c);
  if (form instanceof Response) return form;
  if (!csrfOk(c, cfg, form)) return csrfRefused(c);
  const token = form.link ?? "";
  if (!sameToken(token, readCookie(c, cfg.issuer, FED_COOKIE))) {
    return errorPage(c, "This link request did not start in this browser. Go back to the application and start again.");
  }
  const d = db(c.env.DB);
  const pending = await d
    .select()
    .from(federationStates)
    .where(
      and(
        eq(federationStates.state_hash, await sha256Hex(token)),
        eq(federationStates.stage, "link"),
        isNull(federationStates.used_at),
        gt(federationStates.expires_at, nowIso()),
      ),
    )
    .get();
  if (!pending?.link_user_id || !pending.subject) return errorPage(c, "This link request is unknown, was already used, or took too long. Start again.");
  const provider = await d
    .select()
    .from(identityProviders)
    .where(and(eq(identityProviders.id, pending.provider_id), eq(identityProviders.organization_id, pending.organization_id)))
    .get();
  const user = await d
    .select()
    .from(users)
    .where(and(eq(users.id, pending.link_user_id), eq(users.organization_id, pending.organization_id)))
    .get();
  if (!provider || user?.status !== "active") return errorPage(c, "This account or identity provider is no longer available.");
  const password = form.password ?? "";
  const attempt = await reservePasswordAttempt(c.env, user.email);
  if (!attempt.allowed) {
    c.header("retry-after", String(attempt.retryAfter));
    return linkPage(c, cfg, provider, user.email, token, `Too many failed attempts. Try again in ${attempt.retryAfter} seconds.`, 429);
  }
  if (!password || password.length > 256 || !(await verifyPassword(password, user.password_hash))) {
    await recordSso(c, "identity.login.failed", provider, { reason: "wrong_password", linking: true }, user.id);
    return linkPage(c, cfg, provider, user.email, token, "The password is wrong.", 400);
  }
  await attempt.succeeded();
  const parsed = await requestFrom(c.env, cfg, pending.request);
  if (!parsed.ok) return errorPage(c, "page" in parsed ? parsed.page : parsed.redirect.description);
  const taken = await takeState(c.env.DB, token, "link");
  if (!taken) return errorPage(c, "This link request was already used. Start again.");
  const now = nowIso();
  const event = identityEvent(userActor(c, user.id), "identity.user.identity_linked", {
    subject: user.id,
    organizationid: user.organization_id,
    data: { id: user.id, provider_id: provider.id, issuer: provider.issuer, upstream_subject: pending.subject },
  });
  try {
    await d.batch([
      d.insert(federatedIdentities).values({
        provider_id: provider.id,
        subject: pending.subject,
        issuer: provider.issuer,
        organization_id: provider.organization_id,
        user_id: user.id,
        email: pending.email,
        created_at: now,
        last_login_at: now,
      }),
      outboxInsert(d, event),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) return errorPage(c, "This identity was linked to an account meanwhile. Start again.");
    throw err;
  }
  setCookie(c, cfg.issuer, FED_COOKIE, "", 0);
  return finish(c, cfg, parsed.req, provider, user, [AMR_FEDERATED, "pwd"]);
}
