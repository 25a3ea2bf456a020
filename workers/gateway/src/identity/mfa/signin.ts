import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import type { AuthConfig } from "../config";
import { db } from "../db/client";
import { users, type LoginSessionRow, type UserRow } from "../db/schema";
import { reservePasswordAttempt } from "../login-guard";
import { emailVerifiedEnough } from "../platform-settings";
import type { AuthorizationRequest } from "../signin/request";
import { escapeHtml, hiddenFields, page } from "../signin/pages";
import type { GatewayEnv } from "../../types";
import { recordFactorChange } from "./events";
import { passkeyAmr, verifyPasskeySignIn, type WebAuthnResponse } from "./passkeys";
import { secondFactorState } from "./policy";
import { newRecoveryCodes, useRecoveryCode } from "./recovery";
import { openToken, sealToken, spendToken, type SealedClaims, type TokenPurpose } from "./sealed";
import { pendingTotpSetup, startTotpEnrollment, useTotpCode } from "./totp";

/**
 * The hosted login page's second step. After the password, an account with a second factor is
 * asked for it (a code from its authenticator app, a recovery code, or a passkey); an admin of an
 * organization that requires a second factor and has none is led through setting up an
 * authenticator app before the sign-in completes (never refused: refusing would lock out the
 * admins who could change the policy). The page carries a sealed, 10-minute token naming the
 * account and the client; it is spent when the sign-in completes. Wrong codes count on the
 * account's login throttle, the same counter as wrong passwords.
 *
 * RFC 8176 methods (amr): password + code from the app or a recovery code: pwd, otp, mfa;
 * password + passkey: pwd, hwk or swk (device-bound or synced key), user (if the authenticator
 * verified the user), mfa; a passkey alone (user verification required): hwk or swk, user, mfa.
 */

const STEP_TTL_SECONDS = 600;
export const AMR_PASSWORD_OTP = ["pwd", "otp", "mfa"];

/** What the authorization endpoint lends this step: its request, CSRF token, and how a sign-in ends. */
export interface SignInSteps {
  cfg: AuthConfig;
  req: AuthorizationRequest;
  csrf: string;
  formTargets: string[];
  /** Starts the session with these methods and records the sign-in. */
  signIn(user: UserRow, amr: string[], method: string): Promise<LoginSessionRow>;
  /** Goes on to consent or back to the app with a code. */
  proceed(row: LoginSessionRow, user: UserRow): Promise<Response>;
  /** Records a failed sign-in of an existing account. */
  failed(user: UserRow, reason: string, method: string): Promise<void>;
}

export const PASSKEY_SCRIPT_PATH = "/v1/auth/passkey.js";

/** The login page's passkey sign-in: a button the script drives, and the form it submits. */
export function passkeyForm(s: SignInSteps, mfaToken?: string, label = "Sign in with a passkey"): string {
  return `<form method="post" action="/v1/auth/authorize" id="passkey-form">
${hiddenFields({ ...s.req.raw, csrf: s.csrf, action: "passkey", mfa_token: mfaToken })}
<input type="hidden" name="passkey" value="">
<button type="button" id="passkey-button" class="secondary">${escapeHtml(label)}</button>
<p id="passkey-status" role="status" class="note"></p>
</form>`;
}

function formError(error?: string) {
  return error ? `<p id="form-error" role="alert" class="error">${escapeHtml(error)}</p>` : "";
}

function secondFactorPage(
  c: Context<GatewayEnv>,
  s: SignInSteps,
  token: string,
  has: { totp: boolean; passkeys: number },
  opts: { error?: string; status?: 200 | 400 | 429 } = {},
) {
  const described = opts.error ? ' aria-describedby="form-error" aria-invalid="true"' : "";
  const codeForm = has.totp
    ? `<form method="post" action="/v1/auth/authorize" novalidate>
${hiddenFields({ ...s.req.raw, csrf: s.csrf, action: "second_factor", mfa_token: token })}
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus${described}>
<p class="note">Lost your phone? Enter one of your recovery codes instead.</p>
<button type="submit">Verify</button>
</form>`
    : "";
  const keyForm = has.passkeys ? passkeyForm(s, token, "Use a passkey") : "";
  const body = `<p>to continue to <strong>${escapeHtml(s.req.client.name)}</strong></p>
${formError(opts.error)}
${codeForm}
${keyForm}`;
  return page(c, opts.status ?? 200, "Two-step verification", body, s.formTargets, has.passkeys ? { script: PASSKEY_SCRIPT_PATH } : {});
}

function enrollPage(
  c: Context<GatewayEnv>,
  s: SignInSteps,
  token: string,
  setup: { secret: string; otpauth_uri: string },
  opts: { error?: string; status?: 200 | 400 | 429 } = {},
) {
  const described = opts.error ? ' aria-describedby="form-error" aria-invalid="true"' : "";
  const body = `<p>Your organization requires administrators to use a second factor. Add this account to an authenticator app
(Google Authenticator, 1Password, Microsoft Authenticator, ...), then enter the code it shows.</p>
<p>Setup key: <code id="totp-secret">${escapeHtml(setup.secret.match(/.{1,4}/g)!.join(" "))}</code></p>
<p class="note">Or open this link on the phone: <a id="totp-uri" href="${escapeHtml(setup.otpauth_uri)}">${escapeHtml(setup.otpauth_uri)}</a></p>
${formError(opts.error)}
<form method="post" action="/v1/auth/authorize" novalidate>
${hiddenFields({ ...s.req.raw, csrf: s.csrf, action: "enroll", mfa_token: token })}
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus${described}>
<button type="submit">Turn on two-step verification</button>
</form>`;
  return page(c, opts.status ?? 200, "Set up two-step verification", body, s.formTargets);
}

/** A page that sends the user back to the start of this authorization request. */
function startAgain(c: Context<GatewayEnv>, s: SignInSteps, message: string, status: 200 | 400 = 400) {
  const { prompt: _p, max_age: _m, ...params } = s.req.raw;
  const body = `<p role="alert" class="error">${escapeHtml(message)}</p>
<form method="get" action="/v1/auth/authorize">${hiddenFields(params)}<button type="submit">Start again</button></form>`;
  return page(c, status, "Sign-in cannot continue", body, s.formTargets);
}

/**
 * Called once the password was right (and the email verified, the organization the client's):
 * the second-factor step if the account needs one, or undefined to complete the sign-in now.
 */
export async function afterPassword(c: Context<GatewayEnv>, s: SignInSteps, user: UserRow): Promise<Response | undefined> {
  const state = await secondFactorState(c.env.DB, user);
  if (state.enrolled) {
    const token = await sealToken(s.cfg.signingSecret, { purpose: "signin-second-factor", uid: user.id, cid: s.req.client.id }, STEP_TTL_SECONDS);
    return secondFactorPage(c, s, token, state);
  }
  if (!state.required) return undefined;
  const setup = await startTotpEnrollment(c.env.DB, s.cfg.signingSecret, user);
  if (!setup) return undefined; // enrolled meanwhile: cannot happen without a factor, kept total
  const token = await sealToken(s.cfg.signingSecret, { purpose: "signin-enroll", uid: user.id, cid: s.req.client.id }, STEP_TTL_SECONDS);
  return enrollPage(c, s, token, setup);
}

/** The sealed step token and its account, if both are still good for this request. */
async function stepOf(c: Context<GatewayEnv>, s: SignInSteps, purpose: TokenPurpose, token: string | undefined) {
  const claims = token ? await openToken(s.cfg.signingSecret, purpose, token) : undefined;
  if (!token || !claims?.uid || claims.cid !== s.req.client.id) return undefined;
  const user = await db(c.env.DB)
    .select()
    .from(users)
    .where(and(eq(users.id, claims.uid), eq(users.organization_id, s.req.client.organization_id), eq(users.status, "active")))
    .get();
  return user ? { token, claims, user } : undefined;
}

const EXPIRED = "This sign-in took too long or was already completed. Start again.";

/** POST action=second_factor: a code from the authenticator app, or a recovery code. */
export async function secondFactorCode(c: Context<GatewayEnv>, s: SignInSteps, form: Record<string, string>): Promise<Response> {
  const step = await stepOf(c, s, "signin-second-factor", form.mfa_token);
  if (!step) return startAgain(c, s, EXPIRED);
  const { user } = step;
  const has = await secondFactorState(c.env.DB, user);
  const code = (form.code ?? "").trim();
  if (!code || code.length > 64) return secondFactorPage(c, s, step.token, has, { error: "Enter the code from your authenticator app.", status: 400 });
  const attempt = await reservePasswordAttempt(c.env, user.email);
  if (!attempt.allowed) {
    c.header("retry-after", String(attempt.retryAfter));
    return secondFactorPage(c, s, step.token, has, {
      error: `Too many failed sign-ins for this account. Try again in ${attempt.retryAfter} seconds.`,
      status: 429,
    });
  }
  const isTotp = /^\d{6}$/.test(code.replace(/\s/g, ""));
  const method = isTotp ? "totp" : "recovery_code";
  let outcome: "ok" | "wrong" | "replayed";
  if (isTotp) {
    const r = await useTotpCode(c.env.DB, s.cfg.signingSecret, user.id, code.replace(/\s/g, ""));
    outcome = r === "none" ? "wrong" : r;
  } else {
    outcome = (await useRecoveryCode(c.env.DB, user.id, code)) ? "ok" : "wrong";
  }
  if (outcome !== "ok") {
    await s.failed(user, outcome === "replayed" ? "replayed_code" : "wrong_code", method);
    const error =
      outcome === "replayed" ? "This code was already used. Wait for the next code from your app." : "That code is not right. Check your app and try again.";
    return secondFactorPage(c, s, step.token, has, { error, status: 400 });
  }
  await attempt.succeeded();
  return complete(c, s, step, AMR_PASSWORD_OTP, method);
}

async function complete(c: Context<GatewayEnv>, s: SignInSteps, step: { token: string; claims: SealedClaims; user: UserRow }, amr: string[], method: string) {
  if (!(await spendToken(c.env.DB, step.token, step.claims))) return startAgain(c, s, EXPIRED);
  const row = await s.signIn(step.user, amr, method);
  return s.proceed(row, step.user);
}

/** POST action=enroll: the first code of the authenticator app set up at sign-in (organization policy). */
export async function enrollAtSignIn(c: Context<GatewayEnv>, s: SignInSteps, form: Record<string, string>): Promise<Response> {
  const step = await stepOf(c, s, "signin-enroll", form.mfa_token);
  if (!step) return startAgain(c, s, EXPIRED);
  const { user } = step;
  const code = (form.code ?? "").replace(/\s/g, "");
  const attempt = await reservePasswordAttempt(c.env, user.email);
  if (!attempt.allowed) {
    c.header("retry-after", String(attempt.retryAfter));
    return startAgain(c, s, `Too many failed sign-ins for this account. Try again in ${attempt.retryAfter} seconds.`);
  }
  const r = await useTotpCode(c.env.DB, s.cfg.signingSecret, user.id, code, { pending: true });
  if (r !== "ok") {
    await s.failed(user, "wrong_code", "totp");
    // The secret shown is the one still pending: show it again.
    const setup = await pendingTotpSetup(c.env.DB, s.cfg.signingSecret, user);
    if (!setup) return startAgain(c, s, EXPIRED);
    return enrollPage(c, s, step.token, setup, { error: "That code is not right. Check the app and try again.", status: 400 });
  }
  await attempt.succeeded();
  if (!(await spendToken(c.env.DB, step.token, step.claims))) return startAgain(c, s, EXPIRED);
  const codes = await newRecoveryCodes(c.env.DB, user.id);
  await recordFactorChange(c, user, "identity.user.second_factor_added", { method: "totp", at_sign_in: true });
  await s.signIn(user, AMR_PASSWORD_OTP, "totp");
  // The codes are shown once; "Continue" comes back signed in (without prompt=login or max_age: the user just signed in).
  const { prompt: _p, max_age: _m, ...params } = s.req.raw;
  const body = `<p>Two-step verification is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are not shown again.</p>
<ul id="recovery-codes">${codes.map((x) => `<li><code>${x}</code></li>`).join("")}</ul>
<form method="get" action="/v1/auth/authorize">${hiddenFields(params)}<button type="submit">Continue</button></form>`;
  return page(c, 200, "Save your recovery codes", body, s.formTargets);
}

/** POST action=passkey: a passkey as the second factor (with mfa_token) or as the whole sign-in. */
export async function passkeySignIn(c: Context<GatewayEnv>, s: SignInSteps, form: Record<string, string>): Promise<Response> {
  let step: Awaited<ReturnType<typeof stepOf>>;
  if (form.mfa_token) {
    step = await stepOf(c, s, "signin-second-factor", form.mfa_token);
    if (!step) return startAgain(c, s, EXPIRED);
  }
  let response: WebAuthnResponse;
  try {
    response = JSON.parse(form.passkey ?? "") as WebAuthnResponse;
    if (typeof response !== "object" || response === null || typeof response.response !== "object") throw new Error("shape");
  } catch {
    return startAgain(c, s, "The passkey's answer did not arrive. Try again.");
  }
  const result = await verifyPasskeySignIn(c.env, s.cfg.signingSecret, s.cfg.issuer, response, step?.user.id);
  if (!result.ok) {
    if (step) await s.failed(step.user, result.reason === "other_user" ? "passkey_of_another_user" : `passkey_${result.reason}`, "passkey");
    return startAgain(c, s, result.detail);
  }
  const user = step?.user ?? (await db(c.env.DB).select().from(users).where(eq(users.id, result.passkey.user_id)).get());
  if (user?.status !== "active" || user.organization_id !== s.req.client.organization_id) {
    return startAgain(c, s, "This passkey's account cannot sign in to this application.");
  }
  if (!emailVerifiedEnough(c.env, s.cfg.issuer, user))
    return startAgain(c, s, "Confirm your email first: follow the link in the verification mail we sent you.");
  const key = passkeyAmr(result);
  if (step) return complete(c, s, step, ["pwd", ...key, "mfa"], "passkey");
  const row = await s.signIn(user, [...key, "mfa"], "passkey");
  return s.proceed(row, user);
}
