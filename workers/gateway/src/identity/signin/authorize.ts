import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import { ApiError, nowIso, readTextLimited } from "@buildly/shared";
import { authConfig, type AuthConfig } from "../config";
import { findUserByEmail } from "../accounts";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "../crypto";
import { db } from "../db/client";
import { consents, organizations, type ClientRow } from "../db/schema";
import { reservePasswordAttempt } from "../login-guard";
import { SCOPES, type Scope } from "../scopes";
import { identityEvent, outboxInsert, relaySoon, systemActor } from "../../events/emit";
import type { GatewayEnv } from "../../types";
import { issueCode } from "./codes";
import { emailVerifiedEnough } from "../platform-settings";
import { escapeHtml, errorPage, hiddenFields, page } from "./pages";
import { currentSession, endSession, startSession, type Session } from "./sessions";
import { federationOptions, passwordSignInPolicy } from "../federation/options";
import { type AuthorizationRequest, collect, csrfOk, csrfToken, PARAMS, parseAuthorizationRequest, RequestParams } from "./request";
import { afterPassword, enrollAtSignIn, passkeyForm, passkeySignIn, secondFactorCode, PASSKEY_SCRIPT_PATH, type SignInSteps } from "../mfa/signin";

/**
 * GET/POST /v1/auth/authorize: the authorization endpoint (RFC 6749 4.1, RFC 7636, OIDC Core
 * 3.1.2) and the hosted login page it shows. Errors about the client or the redirect URI are
 * shown here and never redirect; every other error goes back to the (verified) redirect URI
 * with `state` and `iss` (RFC 9207).
 */

/** The client's redirect URI with the response parameters and `iss` added to its query (RFC 9207). */
function redirectTo(c: Context<GatewayEnv>, cfg: AuthConfig, uri: string, params: Record<string, string | undefined>, status: 302 | 303) {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  url.searchParams.append("iss", cfg.issuer);
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  return c.redirect(url.href, status);
}

function errorRedirect(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  r: { redirect_uri: string; error: string; description: string; state?: string },
  status: 302 | 303,
) {
  return redirectTo(c, cfg, r.redirect_uri, { error: r.error, error_description: r.description, state: r.state }, status);
}

function formTargets(req: AuthorizationRequest): string[] {
  return [new URL(req.redirect_uri).origin];
}

async function loginPage(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  req: AuthorizationRequest,
  opts: { error?: string; email?: string; signedInAs?: string; status?: 200 | 400 | 429 } = {},
) {
  const csrf = csrfToken(c, cfg);
  const email = opts.email ?? req.login_hint ?? "";
  // Single sign-on (identity/federation): "Continue with <provider>" for the email's domain, idp_hint, or required SSO.
  const sso = await federationOptions(c, cfg, req, email, csrf);
  const err = opts.error ? `<p id="form-error" role="alert" class="error">${escapeHtml(opts.error)}</p>` : "";
  const described = opts.error ? ' aria-describedby="form-error" aria-invalid="true"' : "";
  const who = opts.signedInAs
    ? `<form method="post" action="/v1/auth/authorize"><p>Signed in as <strong>${escapeHtml(opts.signedInAs)}</strong>.</p>
${hiddenFields({ ...req.raw, csrf, action: "switch" })}<button type="submit" class="secondary">Not you? Sign out</button></form>`
    : "";
  const body = `<p>to continue to <strong>${escapeHtml(req.client.name)}</strong></p>
${who}
${err}
${sso.html}${sso.requireSso ? '\n<p class="note">Password sign-in is for administrators only (break-glass).</p>' : ""}
${passkeyForm(signInSteps(c, cfg, req))}
<form method="post" action="/v1/auth/authorize" novalidate>
${hiddenFields({ ...req.raw, csrf, action: "login" })}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(email)}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described}>
<button type="submit">Sign in</button>
</form>
<p class="note"><a href="/v1/auth/forgot-password">Forgot your password?</a></p>`;
  return page(c, opts.status ?? 200, "Sign in", body, [...formTargets(req), ...sso.formTargets], { script: PASSKEY_SCRIPT_PATH });
}

function consentPage(c: Context<GatewayEnv>, cfg: AuthConfig, req: AuthorizationRequest, session: Session, orgName: string) {
  const csrf = csrfToken(c, cfg);
  const items = req.scope
    .split(" ")
    .map((s) => `<li>${escapeHtml(SCOPES[s as Scope])}</li>`)
    .join("");
  const body = `<p><strong>${escapeHtml(req.client.name)}</strong> asks to act for you in ${escapeHtml(orgName)}:</p>
<ul>${items}</ul>
<p class="note">Signed in as ${escapeHtml(session.user.email)}.</p>
<form method="post" action="/v1/auth/authorize">
${hiddenFields({ ...req.raw, csrf })}
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
</form>`;
  return page(c, 200, "Allow access?", body, formTargets(req));
}

async function hasConsent(d1: D1Database, userId: string, clientId: string, scope: string): Promise<boolean> {
  const row = await db(d1)
    .select({ scope: consents.scope })
    .from(consents)
    .where(and(eq(consents.user_id, userId), eq(consents.client_id, clientId)))
    .get();
  if (!row) return false;
  const granted = row.scope.split(" ");
  return scope.split(" ").every((s) => granted.includes(s));
}

/**
 * What comes after the request is valid: sign in if needed, consent if needed (third-party
 * clients), then a code back to the client.
 */
export async function proceed(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  req: AuthorizationRequest,
  session: Session | undefined,
  done: { signedIn?: boolean; consented?: boolean },
  status: 302 | 303,
) {
  const back = (error: string, description: string) => errorRedirect(c, cfg, { redirect_uri: req.redirect_uri, error, description, state: req.state }, status);
  const nowSec = Math.floor(Date.now() / 1000);
  const tooOld = session && req.max_age !== undefined && nowSec - session.row.auth_time > req.max_age;
  const otherOrg = session && session.user.organization_id !== req.client.organization_id;
  if (!session || (!done.signedIn && (req.prompt.has("login") || tooOld)) || otherOrg) {
    if (req.prompt.has("none")) return back("login_required", "The user must sign in.");
    return loginPage(c, cfg, req, {
      signedInAs: session?.user.email,
      email: session?.user.email,
      ...(otherOrg ? { error: "This account does not belong to the organization of this application. Sign in with another account." } : {}),
    });
  }
  if (!req.client.first_party) {
    const consented = done.consented || (!req.prompt.has("consent") && (await hasConsent(c.env.DB, session.user.id, req.client.id, req.scope)));
    if (!consented) {
      if (req.prompt.has("none")) return back("consent_required", "The user must allow this application first.");
      const org = await db(c.env.DB).select({ name: organizations.name }).from(organizations).where(eq(organizations.id, session.user.organization_id)).get();
      return consentPage(c, cfg, req, session, org?.name ?? "");
    }
  }
  const code = await issueCode(c.env.DB, {
    client_id: req.client.id,
    user_id: session.user.id,
    organization_id: session.user.organization_id,
    redirect_uri: req.redirect_uri,
    code_challenge: req.code_challenge,
    scope: req.scope,
    nonce: req.nonce ?? null,
    auth_time: session.row.auth_time,
    amr: session.row.amr,
  });
  return redirectTo(c, cfg, req.redirect_uri, { code, state: req.state }, status);
}

export async function authorizeGet(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  const parsed = await parseAuthorizationRequest(c.env, cfg, collect(new URL(c.req.url).searchParams));
  if (!parsed.ok) return "page" in parsed ? errorPage(c, parsed.page) : errorRedirect(c, cfg, parsed.redirect, 302);
  const session = await currentSession(c, cfg.issuer);
  return proceed(c, cfg, parsed.req, session, {}, 302);
}

/** The login, consent and "not you?" forms post here, with the authorization request's parameters as hidden fields. */
export async function authorizePost(c: Context<GatewayEnv>) {
  const cfg = authConfig(c.env, c.req.url);
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return errorPage(c, "Send the form as application/x-www-form-urlencoded.");
  let text: string;
  try {
    text = await readTextLimited(c.req.raw, 16 * 1024);
  } catch (err) {
    if (err instanceof ApiError) return errorPage(c, "The form is too large.");
    throw err;
  }
  const p = collect(new URLSearchParams(text));
  const form = p.values;
  // A form posted from another site (login CSRF, forced consent) is refused before anything else.
  if (!csrfOk(c, cfg, form)) {
    return errorPage(
      c,
      "This form could not be verified (it may have come from another site, or your session expired). Go back to the application and start again.",
      403,
    );
  }
  const oauthOnly = new RequestParams(
    Object.fromEntries(Object.entries(form).filter(([k]) => (PARAMS as readonly string[]).includes(k))),
    new Set([...p.repeated].filter((k) => (PARAMS as readonly string[]).includes(k))),
  );
  const parsed = await parseAuthorizationRequest(c.env, cfg, oauthOnly);
  if (!parsed.ok) return "page" in parsed ? errorPage(c, parsed.page) : errorRedirect(c, cfg, parsed.redirect, 303);
  const req = parsed.req;
  switch (form.action) {
    case "login":
      return login(c, cfg, req, form);
    // Second factors (identity/mfa): the code after the password, an app set up at sign-in, a passkey.
    case "second_factor":
      return secondFactorCode(c, signInSteps(c, cfg, req), form);
    case "enroll":
      return enrollAtSignIn(c, signInSteps(c, cfg, req), form);
    case "passkey":
      return passkeySignIn(c, signInSteps(c, cfg, req), form);
    case "switch":
      await endSession(c, cfg.issuer);
      return loginPage(c, cfg, req, { email: "" });
    case "allow":
    case "deny": {
      const session = await currentSession(c, cfg.issuer);
      if (!session) return loginPage(c, cfg, req, { error: "Your session ended. Sign in again." });
      if (form.action === "deny") {
        return errorRedirect(
          c,
          cfg,
          { redirect_uri: req.redirect_uri, error: "access_denied", description: "The user denied the request.", state: req.state },
          303,
        );
      }
      await db(c.env.DB)
        .insert(consents)
        .values({ user_id: session.user.id, client_id: req.client.id, scope: req.scope, created_at: nowIso() })
        .onConflictDoUpdate({ target: [consents.user_id, consents.client_id], set: { scope: req.scope, created_at: nowIso() } });
      return proceed(c, cfg, req, session, { consented: true, signedIn: true }, 303);
    }
    default:
      return errorPage(c, "Unknown form action.");
  }
}

async function login(c: Context<GatewayEnv>, cfg: AuthConfig, req: AuthorizationRequest, form: Record<string, string>) {
  const email = (form.email ?? "").trim();
  const password = form.password ?? "";
  if (email && !password && email.length <= 254) {
    // Home realm discovery: an email alone shows the single sign-on its domain belongs to, if any.
    const sso = await federationOptions(c, cfg, req, email);
    if (sso.html) return loginPage(c, cfg, req, { email });
  }
  if (!email || !password || email.length > 254 || password.length > 256) {
    return loginPage(c, cfg, req, { email, error: "Enter your email and password.", status: 400 });
  }
  // The same throttle, per account, as the password grant and password changes.
  const attempt = await reservePasswordAttempt(c.env, email);
  if (!attempt.allowed) {
    c.header("retry-after", String(attempt.retryAfter));
    return loginPage(c, cfg, req, { email, error: `Too many failed sign-ins for this account. Try again in ${attempt.retryAfter} seconds.`, status: 429 });
  }
  const user = await findUserByEmail(c.env.DB, email);
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.status !== "active") {
    if (user) await recordSignIn(c, "identity.login.failed", user, req.client, { reason: ok ? "inactive" : "wrong_password" });
    return loginPage(c, cfg, req, { email, error: "The email or password is wrong.", status: 400 });
  }
  await attempt.succeeded();
  if (!emailVerifiedEnough(c.env, cfg.issuer, user)) {
    return loginPage(c, cfg, req, { email, error: "Confirm your email first: follow the link in the verification mail we sent you.", status: 400 });
  }
  if (user.organization_id !== req.client.organization_id) {
    await recordSignIn(c, "identity.login.failed", user, req.client, { reason: "other_organization" });
    return loginPage(c, cfg, req, { email, error: "This account does not belong to the organization of this application.", status: 400 });
  }
  const policy = await passwordSignInPolicy(c.env.DB, user);
  if (!policy.allowed) {
    await recordSignIn(c, "identity.login.failed", user, req.client, { reason: "sso_required" });
    return loginPage(c, cfg, req, { email, error: policy.reason, status: 400 });
  }
  // An account with a second factor (or an admin the organization's policy covers) has one more step.
  const steps = signInSteps(c, cfg, req, policy.breakGlass ? { break_glass: true } : {});
  const second = await afterPassword(c, steps, user);
  if (second) return second;
  const row = await steps.signIn(user, ["pwd"], "password");
  return steps.proceed(row, user);
}

/** How a sign-in completes, lent to the second-factor step (identity/mfa). */
function signInSteps(c: Context<GatewayEnv>, cfg: AuthConfig, req: AuthorizationRequest, recorded: Record<string, unknown> = {}): SignInSteps {
  return {
    cfg,
    req,
    csrf: csrfToken(c, cfg),
    formTargets: formTargets(req),
    // A new session id at every sign-in: a session cookie planted before (fixation) is revoked and replaced.
    signIn: async (user, amr, method) => {
      const row = await startSession(c, cfg.issuer, user, amr);
      await recordSignIn(c, "identity.login.succeeded", user, req.client, { method, amr, ...recorded });
      return row;
    },
    proceed: (row, user) => proceed(c, cfg, req, { row, user }, { signedIn: true }, 303),
    failed: (user, reason, method) => recordSignIn(c, "identity.login.failed", user, req.client, { reason, method }),
  };
}

/** The sign-in's audit event: who, through which client, by which method. */
async function recordSignIn(
  c: Context<GatewayEnv>,
  type: "identity.login.succeeded" | "identity.login.failed",
  user: { id: string; organization_id: string },
  client: ClientRow,
  data: Record<string, unknown>,
) {
  const actor =
    type === "identity.login.succeeded"
      ? { ...systemActor(c.get("requestId")), actortype: "user" as const, actorid: user.id }
      : systemActor(c.get("requestId"));
  const event = identityEvent(actor, type, {
    subject: user.id,
    organizationid: user.organization_id,
    data: { id: user.id, method: "password", grant_type: "authorization_code", client_id: client.id, ...data },
  });
  await outboxInsert(db(c.env.DB), event);
  relaySoon(c);
}
