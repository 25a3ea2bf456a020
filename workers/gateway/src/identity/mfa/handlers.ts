import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import { ApiError, nowIso } from "@buildly/shared";
import { findUser } from "../accounts";
import { currentPrincipal } from "../authenticate";
import { authConfig } from "../config";
import { verifyPassword } from "../crypto";
import { db } from "../db/client";
import { reservePasswordAttempt, tooManyPasswordAttempts } from "../login-guard";
import { actorOf, gatewayEvent, outboxInsert, relaySoon } from "../../events";
import type { GatewayEnv } from "../../types";
import { recordFactorChange } from "./events";
import { authenticationOptions, passkeysOf, registerPasskey, registrationOptions, type WebAuthnResponse } from "./passkeys";
import { secondFactorPolicy, secondFactorState } from "./policy";
import { dropRecoveryCodes, newRecoveryCodes, recoveryCodesLeft, useRecoveryCode } from "./recovery";
import type * as routes from "./routes";
import { openToken } from "./sealed";
import { passkeys, secondFactorPolicies, totpFactors } from "./schema";
import { startTotpEnrollment, useTotpCode, type TotpCheck } from "./totp";
import { PASSKEY_SCRIPT } from "./script";

/** The signed-in user behind the token (second factors belong to people, not machine clients). */
async function me(c: Context<GatewayEnv>) {
  const p = currentPrincipal(c);
  const cfg = authConfig(c.env, c.req.url);
  if (p.kind !== "user" || p.issuer !== cfg.issuer) throw new ApiError(403, "Only users of this gateway have second factors.");
  const user = await findUser(c.env.DB, p.organization_id, p.subject);
  if (!user) throw new ApiError(403, "Only users of this gateway have second factors.");
  return { user, cfg };
}

function codeProblem(r: TotpCheck | "wrong"): ApiError {
  const message = r === "replayed" ? "This code was already used: wait for the next one" : "Wrong code";
  return new ApiError(400, r === "replayed" ? "This code was already used. Wait for the next code from the app." : "The code is wrong.", {
    errors: [{ path: "code", message }],
  });
}

/** Reserves a check on the account's login throttle (the same counter as wrong passwords). */
async function reserve(env: Env, email: string) {
  const attempt = await reservePasswordAttempt(env, email);
  if (!attempt.allowed) throw tooManyPasswordAttempts(attempt.retryAfter);
  return attempt;
}

const publicPasskey = (p: typeof passkeys.$inferSelect) => ({
  id: p.id,
  name: p.name,
  backed_up: p.backed_up,
  created_at: p.created_at,
  last_used_at: p.last_used_at,
});

export const listFactors: RouteHandler<typeof routes.listFactors, GatewayEnv> = async (c) => {
  const { user } = await me(c);
  const [state, left, keys] = await Promise.all([secondFactorState(c.env.DB, user), recoveryCodesLeft(c.env.DB, user.id), passkeysOf(c.env.DB, user.id)]);
  return c.json({ totp: { enrolled: state.totp }, recovery_codes_left: left, passkeys: keys.map(publicPasskey), required: state.required }, 200);
};

export const startTotp: RouteHandler<typeof routes.startTotp, GatewayEnv> = async (c) => {
  const { user, cfg } = await me(c);
  const setup = await startTotpEnrollment(c.env.DB, cfg.signingSecret, user);
  if (!setup) throw new ApiError(409, "An authenticator app is already enrolled: disable it first (POST /v1/auth/mfa/totp/disable).");
  c.header("cache-control", "no-store");
  return c.json(setup, 201);
};

export const confirmTotp: RouteHandler<typeof routes.confirmTotp, GatewayEnv> = async (c) => {
  const { user, cfg } = await me(c);
  const { code } = c.req.valid("json");
  const pending = await db(c.env.DB).select({ confirmed_at: totpFactors.confirmed_at }).from(totpFactors).where(eq(totpFactors.user_id, user.id)).get();
  if (!pending || pending.confirmed_at) throw new ApiError(404, "No authenticator app is being set up: start with POST /v1/auth/mfa/totp.");
  const attempt = await reserve(c.env, user.email);
  const r = await useTotpCode(c.env.DB, cfg.signingSecret, user.id, code, { pending: true });
  if (r !== "ok") throw codeProblem(r);
  await attempt.succeeded();
  const recovery_codes = await newRecoveryCodes(c.env.DB, user.id);
  await recordFactorChange(c, user, "identity.user.second_factor_added", { method: "totp" });
  c.header("cache-control", "no-store");
  return c.json({ recovery_codes }, 200);
};

/** A current app code or (when `recovery`) an unused recovery code: the fresh proof of possession. */
async function proveFactor(env: Env, secret: string, userId: string, code: string, recovery: boolean): Promise<void> {
  if (/^\d{6}$/.test(code)) {
    const r = await useTotpCode(env.DB, secret, userId, code);
    if (r !== "ok") throw codeProblem(r);
    return;
  }
  if (!recovery || !(await useRecoveryCode(env.DB, userId, code))) throw codeProblem("wrong");
}

export const disableTotp: RouteHandler<typeof routes.disableTotp, GatewayEnv> = async (c) => {
  const { user, cfg } = await me(c);
  const { password, code } = c.req.valid("json");
  const enrolled = await db(c.env.DB).select({ confirmed_at: totpFactors.confirmed_at }).from(totpFactors).where(eq(totpFactors.user_id, user.id)).get();
  if (!enrolled?.confirmed_at) throw new ApiError(404, "No authenticator app is enrolled.");
  const attempt = await reserve(c.env, user.email);
  if (!(await verifyPassword(password, user.password_hash))) {
    throw new ApiError(400, "The password is wrong.", { errors: [{ path: "password", message: "Wrong password" }] });
  }
  await proveFactor(c.env, cfg.signingSecret, user.id, code, true);
  await attempt.succeeded();
  await db(c.env.DB).delete(totpFactors).where(eq(totpFactors.user_id, user.id));
  await dropRecoveryCodes(c.env.DB, user.id);
  await recordFactorChange(c, user, "identity.user.second_factor_removed", { method: "totp" });
  return c.body(null, 204);
};

export const regenerateRecoveryCodes: RouteHandler<typeof routes.regenerateRecoveryCodes, GatewayEnv> = async (c) => {
  const { user, cfg } = await me(c);
  const { code } = c.req.valid("json");
  const attempt = await reserve(c.env, user.email);
  const r = await useTotpCode(c.env.DB, cfg.signingSecret, user.id, code);
  if (r === "none") throw new ApiError(404, "No authenticator app is enrolled: recovery codes come with one.");
  if (r !== "ok") throw codeProblem(r);
  await attempt.succeeded();
  const recovery_codes = await newRecoveryCodes(c.env.DB, user.id);
  await recordFactorChange(c, user, "identity.user.recovery_codes_regenerated", {});
  c.header("cache-control", "no-store");
  return c.json({ recovery_codes }, 200);
};

export const passkeyRegistrationOptions: RouteHandler<typeof routes.passkeyRegistrationOptions, GatewayEnv> = async (c) => {
  const { user, cfg } = await me(c);
  c.header("cache-control", "no-store");
  return c.json((await registrationOptions(c.env, cfg.signingSecret, cfg.issuer, user)) as unknown as Record<string, unknown>, 200);
};

export const registerPasskeyHandler: RouteHandler<typeof routes.registerPasskeyRoute, GatewayEnv> = async (c) => {
  const { user, cfg } = await me(c);
  const { name, response } = c.req.valid("json");
  const r = await registerPasskey(c.env, cfg.signingSecret, cfg.issuer, user, response as WebAuthnResponse, name ?? "Passkey");
  if (!r.ok) throw new ApiError(r.status, r.detail, r.status === 400 ? { errors: [{ path: "response", message: r.reason }] } : {});
  await recordFactorChange(c, user, "identity.user.second_factor_added", { method: "passkey", passkey_id: r.passkey.id });
  return c.json(publicPasskey(r.passkey), 201);
};

export const removePasskey: RouteHandler<typeof routes.removePasskey, GatewayEnv> = async (c) => {
  const { user } = await me(c);
  const { id } = c.req.valid("param");
  const { password } = c.req.valid("json");
  const attempt = await reserve(c.env, user.email);
  if (!(await verifyPassword(password, user.password_hash))) {
    throw new ApiError(400, "The password is wrong.", { errors: [{ path: "password", message: "Wrong password" }] });
  }
  await attempt.succeeded();
  const gone = await db(c.env.DB)
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.user_id, user.id)))
    .returning({ id: passkeys.id })
    .get();
  if (!gone) throw new ApiError(404, "You have no passkey with this id.");
  await recordFactorChange(c, user, "identity.user.second_factor_removed", { method: "passkey", passkey_id: id });
  return c.body(null, 204);
};

export const signinPasskeyOptions: RouteHandler<typeof routes.signinPasskeyOptions, GatewayEnv> = async (c) => {
  const cfg = authConfig(c.env, c.req.url);
  const { mfa_token } = c.req.valid("json");
  let uid: string | undefined;
  if (mfa_token) {
    const claims = await openToken(cfg.signingSecret, "signin-second-factor", mfa_token);
    if (!claims?.uid)
      throw new ApiError(400, "This sign-in took too long or was already completed: start again.", {
        errors: [{ path: "mfa_token", message: "Expired or unknown" }],
      });
    uid = claims.uid;
  }
  c.header("cache-control", "no-store");
  return c.json((await authenticationOptions(c.env, cfg.signingSecret, cfg.issuer, uid)) as unknown as Record<string, unknown>, 200);
};

export const getPolicy: RouteHandler<typeof routes.getPolicy, GatewayEnv> = async (c) => {
  return c.json(await secondFactorPolicy(c.env.DB, currentPrincipal(c).organization_id), 200);
};

export const putPolicy: RouteHandler<typeof routes.putPolicy, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  const { require_for_admins } = c.req.valid("json");
  const now = nowIso();
  const d = db(c.env.DB);
  const event = gatewayEvent(actorOf(c), "identity.organization.second_factor_policy_changed", {
    subject: p.organization_id,
    organizationid: p.organization_id,
    data: { id: p.organization_id, require_for_admins },
  });
  // The change and its event together; setting what is already set changes nothing and records nothing.
  await d.batch([
    d
      .insert(secondFactorPolicies)
      .values({ organization_id: p.organization_id, require_for_admins, updated_at: now, updated_by: p.subject })
      .onConflictDoUpdate({
        target: secondFactorPolicies.organization_id,
        set: { require_for_admins, updated_at: now, updated_by: p.subject },
        setWhere: eq(secondFactorPolicies.require_for_admins, !require_for_admins),
      }),
    outboxInsert(d, event, { onlyIfChanged: true }),
  ]);
  relaySoon(c);
  return c.json(await secondFactorPolicy(c.env.DB, p.organization_id), 200);
};

/** GET /v1/auth/passkey.js: the login page's passkey script (served here: the page loads nothing from elsewhere). */
export function passkeyScript(c: Context<GatewayEnv>) {
  return c.body(PASSKEY_SCRIPT, 200, {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": "public, max-age=300",
    "x-content-type-options": "nosniff",
  });
}
