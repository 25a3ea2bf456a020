import type { OpenAPIHono } from "@hono/zod-openapi";
import { authConfig } from "../../config";
import { SIGNING_ALG, publishedKeys } from "../../keys";
import type { GatewayEnv } from "../../../types";
import { SCOPE_NAMES } from "../../scopes";
import { ACR_PASSWORD } from "../../signin/codes";
import { CLIENT_ASSERTION_ALGS } from "./token";

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
      authorization_endpoint: `${base}/v1/auth/authorize`,
      token_endpoint: `${base}/v1/auth/token`,
      revocation_endpoint: `${base}/v1/auth/revoke`,
      userinfo_endpoint: `${base}/v1/auth/userinfo`,
      end_session_endpoint: `${base}/v1/auth/logout`,
      // password is legacy (OAuth 2.1 drops it) and stays for existing clients.
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials", "password"],
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      prompt_values_supported: ["none", "login", "consent"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
      token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
      revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
      revocation_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
      id_token_signing_alg_values_supported: [SIGNING_ALG],
      subject_types_supported: ["public"],
      acr_values_supported: [ACR_PASSWORD],
      scopes_supported: SCOPE_NAMES,
      claims_supported: ["iss", "aud", "sub", "exp", "iat", "auth_time", "nonce", "amr", "acr", "azp", "org", "name", "email", "email_verified", "updated_at"],
    });
  });
  return app;
}
