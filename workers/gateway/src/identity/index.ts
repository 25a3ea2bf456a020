import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyHandler, lazyRoutes } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

/** Token checks (authenticate.ts, with jose, the keys and identity's tables) load on the first request, not at start-up. */
export const authenticate = lazyHandler(() => import("./authenticate").then((m) => m.authenticate));

/** The cron jobs (scheduled.ts: sweeps, key rotation, retention), loaded by the first run an isolate gets, not at start-up. */
export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env, ctx) => (await import("./scheduled")).scheduled(controller, env, ctx);

/**
 * The identity provider: OAuth2 tokens, accounts, organizations, users, roles, invitations, clients.
 * Each group is built on its first request (lazyRoutes): a new route goes in its group's list.
 */
export function registerIdentity(app: OpenAPIHono<GatewayEnv>) {
  lazyRoutes(
    app,
    [
      ["get", "/.well-known/jwks.json"],
      ["get", "/.well-known/openid-configuration"],
      ["post", "/v1/auth/token"],
      ["post", "/v1/auth/revoke"],
      ["post", "/v1/auth/register"],
      ["get", "/v1/auth/me"],
      ["post", "/v1/auth/password"],
      ["post", "/v1/auth/password-reset"],
      ["post", "/v1/auth/password-reset/confirm"],
      ["post", "/v1/auth/verify-email"],
      ["post", "/v1/auth/verify-email/resend"],
    ],
    () => import("./routes/auth").then((m) => m.registerAuth),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/auth/authorize"],
      ["post", "/v1/auth/authorize"],
      ["get", "/v1/auth/userinfo"],
      ["post", "/v1/auth/userinfo"],
      ["get", "/v1/auth/logout"],
      ["post", "/v1/auth/logout"],
      ["get", "/v1/auth/forgot-password"],
      ["post", "/v1/auth/forgot-password"],
      ["get", "/v1/auth/reset-password"],
      ["post", "/v1/auth/reset-password"],
    ],
    () => import("./signin").then((m) => m.registerSignin),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/auth/passkey.js"],
      ["get", "/v1/auth/mfa"],
      ["post", "/v1/auth/mfa/totp"],
      ["post", "/v1/auth/mfa/totp/confirm"],
      ["post", "/v1/auth/mfa/totp/disable"],
      ["post", "/v1/auth/mfa/recovery-codes"],
      ["post", "/v1/auth/mfa/passkeys/options"],
      ["post", "/v1/auth/mfa/passkeys"],
      ["post", "/v1/auth/mfa/passkeys/{id}/remove"],
      ["post", "/v1/auth/passkey/options"],
      ["get", "/v1/organizations/current/second-factor-policy"],
      ["put", "/v1/organizations/current/second-factor-policy"],
    ],
    () => import("./mfa").then((m) => m.registerMfa),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/organizations/current"],
      ["patch", "/v1/organizations/current"],
    ],
    () => import("./routes/organizations").then((m) => m.registerOrganizations),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/users"],
      ["post", "/v1/users"],
      ["get", "/v1/users/{id}"],
      ["patch", "/v1/users/{id}"],
      ["delete", "/v1/users/{id}"],
      ["put", "/v1/users/{id}/roles"],
    ],
    () => import("./routes/users").then((m) => m.registerUsers),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/roles"],
      ["post", "/v1/roles"],
      ["get", "/v1/roles/{id}"],
      ["patch", "/v1/roles/{id}"],
      ["delete", "/v1/roles/{id}"],
    ],
    () => import("./routes/roles").then((m) => m.registerRoles),
  );
  lazyRoutes(
    app,
    [
      ["post", "/v1/invitations"],
      ["get", "/v1/invitations"],
    ],
    () => import("./routes/invitations").then((m) => m.registerInvitations),
  );
  lazyRoutes(
    app,
    [
      ["post", "/v1/clients"],
      ["get", "/v1/clients"],
      ["delete", "/v1/clients/{id}"],
    ],
    () => import("./routes/clients").then((m) => m.registerClients),
  );
  lazyRoutes(
    app,
    [
      ["post", "/v1/organizations/current/identity-providers"],
      ["get", "/v1/organizations/current/identity-providers"],
      ["get", "/v1/organizations/current/identity-providers/{id}"],
      ["patch", "/v1/organizations/current/identity-providers/{id}"],
      ["delete", "/v1/organizations/current/identity-providers/{id}"],
      ["get", "/v1/organizations/current/sso"],
      ["put", "/v1/organizations/current/sso"],
      ["post", "/v1/auth/federation/start"],
      ["get", "/v1/auth/federation/callback"],
      ["post", "/v1/auth/federation/link"],
    ],
    () => import("./federation").then((m) => m.registerFederation),
  );
}
