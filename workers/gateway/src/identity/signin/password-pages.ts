import type { Context } from "hono";
import { ApiError, logError, readTextLimited } from "@buildly/shared";
import { authConfig } from "../config";
import { randomToken } from "../crypto";
import { mailResetToken, resetPassword } from "../routes/auth/auth.handlers";
import { PASSWORD_RULES } from "../password-policy";
import type { GatewayEnv } from "../../types";
import { errorPage, escapeHtml, hiddenFields, page } from "./pages";
import { readCookie, setCookie } from "./sessions";

/**
 * The hosted "forgot password" pages, on the existing reset flow: the same mail (sent after the
 * answer, so the page says the same whether or not the account exists) and the same reset
 * rules (single-use token, password rules, every session and refresh token ended).
 */

const CSRF_COOKIE = "buildly_csrf";

function csrf(c: Context<GatewayEnv>, issuer: string): string {
  const existing = readCookie(c, issuer, CSRF_COOKIE);
  if (existing) return existing;
  const token = randomToken(32);
  setCookie(c, issuer, CSRF_COOKIE, token, null);
  return token;
}

async function readForm(c: Context<GatewayEnv>, issuer: string): Promise<Record<string, string> | string> {
  if ((c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase() !== "application/x-www-form-urlencoded") return "Send the form as a form.";
  let text: string;
  try {
    text = await readTextLimited(c.req.raw, 8 * 1024);
  } catch (err) {
    if (err instanceof ApiError) return "The form is too large.";
    throw err;
  }
  const form = Object.fromEntries(new URLSearchParams(text));
  const site = c.req.header("sec-fetch-site");
  const origin = c.req.header("origin");
  const cookie = readCookie(c, issuer, CSRF_COOKIE);
  if ((site && site !== "same-origin" && site !== "none") || (origin && origin !== new URL(issuer).origin) || !cookie || cookie !== form.csrf) {
    return "This form could not be verified (it may have come from another site). Nothing was changed.";
  }
  return form;
}

function resetForm(c: Context<GatewayEnv>, issuer: string, error?: { field: "token" | "new_password"; message: string }) {
  const err = (field: string) => (error?.field === field ? ` aria-invalid="true" aria-describedby="${field}-error"` : "");
  const msg = (field: string) => (error?.field === field ? `<p id="${field}-error" class="error" role="alert">${escapeHtml(error.message)}</p>` : "");
  return `<form method="post" action="/v1/auth/reset-password" novalidate>
${hiddenFields({ csrf: csrf(c, issuer) })}
<label for="token">Reset token (from the email)</label>
<input id="token" name="token" type="text" autocomplete="one-time-code" required${err("token")}>
${msg("token")}
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required aria-describedby="rules"${err("new_password")}>
<p id="rules" class="note">${escapeHtml(PASSWORD_RULES)}</p>
${msg("new_password")}
<button type="submit">Set password</button>
</form>`;
}

export function forgotGet(c: Context<GatewayEnv>) {
  const { issuer } = authConfig(c.env, c.req.url);
  return page(
    c,
    200,
    "Forgot your password?",
    `<p>We will email you a token to set a new one.</p>
<form method="post" action="/v1/auth/forgot-password" novalidate>
${hiddenFields({ csrf: csrf(c, issuer) })}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus>
<button type="submit">Email me a token</button>
</form>`,
  );
}

export async function forgotPost(c: Context<GatewayEnv>) {
  const { issuer } = authConfig(c.env, c.req.url);
  const form = await readForm(c, issuer);
  if (typeof form === "string") return errorPage(c, form, 403);
  const email = (form.email ?? "").trim();
  if (email && email.length <= 254) {
    const requestId = c.get("requestId");
    c.executionCtx.waitUntil(mailResetToken(c.env, email, issuer).catch((err) => logError(requestId, "gateway", err, { during: "password reset mail" })));
  }
  return page(c, 200, "Check your email", `<p>If an account has this email, a reset token is on its way (valid for one hour).</p>${resetForm(c, issuer)}`);
}

export function resetGet(c: Context<GatewayEnv>) {
  const { issuer } = authConfig(c.env, c.req.url);
  return page(c, 200, "Set a new password", resetForm(c, issuer));
}

export async function resetPost(c: Context<GatewayEnv>) {
  const { issuer } = authConfig(c.env, c.req.url);
  const form = await readForm(c, issuer);
  if (typeof form === "string") return errorPage(c, form, 403);
  try {
    await resetPassword(c, form.token ?? "", form.new_password ?? "");
  } catch (err) {
    if (err instanceof ApiError && (err.status === 400 || err.status === 422)) {
      const field = err.errors?.[0]?.path === "new_password" ? "new_password" : "token";
      return page(c, 400, "Set a new password", resetForm(c, issuer, { field, message: err.errors?.[0]?.message ?? err.message }));
    }
    throw err;
  }
  return page(c, 200, "Password changed", "<p>Your password is changed and you were signed out everywhere. Go back to the application and sign in.</p>");
}
