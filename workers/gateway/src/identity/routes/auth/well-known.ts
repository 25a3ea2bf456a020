import type { OpenAPIHono } from "@hono/zod-openapi";
import { authConfig } from "../../config";
import { SIGNING_ALG, publishedKeys } from "../../keys";
import type { GatewayEnv } from "../../../types";
import { SCOPE_NAMES } from "../../scopes";

/** JWKS and OpenID discovery, so any service inside or outside the platform can verify our tokens. */
export function registerWellKnown(app: OpenAPIHono<GatewayEnv>) {
  app.get("/.well-known/jwks.json", async (c) => {
    const cfg = authConfig(c.env, c.req.url);
    c.header("cache-control", cfg.localIssuer ? "no-store" : "public, max-age=300");
    return c.json({ keys: await publishedKeys(c.env.DB, cfg.signingSecret) });
  });

  app.get("/.well-known/openid-configuration", (c) => {
    const cfg = authConfig(c.env, c.req.url);
    // Every URL from the configured issuer, none from the request: this answer may be cached and shared.
    const base = cfg.issuer;
    c.header("cache-control", cfg.localIssuer ? "no-store" : "public, max-age=3600");
    return c.json({
      issuer: cfg.issuer,
      jwks_uri: `${base}/.well-known/jwks.json`,
      token_endpoint: `${base}/v1/auth/token`,
      revocation_endpoint: `${base}/v1/auth/revoke`,
      userinfo_endpoint: `${base}/v1/auth/me`,
      grant_types_supported: ["password", "refresh_token", "client_credentials"],
      response_types_supported: ["token"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      id_token_signing_alg_values_supported: [SIGNING_ALG],
      token_endpoint_auth_signing_alg_values_supported: [SIGNING_ALG],
      subject_types_supported: ["public"],
      scopes_supported: SCOPE_NAMES,
      claims_supported: ["iss", "aud", "sub", "org", "roles", "scope", "iat", "exp", "jti", "client_id"],
    });
  });
  return app;
}
