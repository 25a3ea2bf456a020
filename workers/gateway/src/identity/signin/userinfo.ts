import type { Context } from "hono";
import { ApiError } from "@buildly/shared";
import { findUser } from "../accounts";
import { currentPrincipal } from "../authenticate";
import { authConfig } from "../config";
import type { GatewayEnv } from "../../types";

/** GET/POST /v1/auth/userinfo (OIDC Core 5.3): the signed-in user's claims, as the token's scope allows. */
export async function userinfo(c: Context<GatewayEnv>) {
  const p = currentPrincipal(c);
  const scopes = p.scope.split(" ");
  const ours = p.issuer === authConfig(c.env, c.req.url).issuer;
  if (!ours || p.kind !== "user" || !(scopes.includes("openid") || scopes.includes("api"))) {
    throw new ApiError(403, "userinfo needs a user's access token with the openid scope.", {
      headers: { "www-authenticate": 'Bearer realm="buildly", error="insufficient_scope", scope="openid"' },
    });
  }
  const user = await findUser(c.env.DB, p.organization_id, p.subject);
  if (!user)
    throw new ApiError(401, "The account behind this token is no longer active.", {
      headers: { "www-authenticate": 'Bearer realm="buildly", error="invalid_token"' },
    });
  c.header("cache-control", "no-store");
  return c.json(
    {
      sub: user.id,
      org: user.organization_id,
      ...(scopes.includes("profile") ? { name: user.name, updated_at: Math.floor(Date.parse(user.updated_at) / 1000) } : {}),
      ...(scopes.includes("email") ? { email: user.email, email_verified: Boolean(user.email_verified_at) } : {}),
    },
    200,
  );
}
