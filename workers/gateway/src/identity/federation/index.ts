import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../types";
import { federationCallback, federationLink, federationStart } from "./flow";
import { CALLBACK_PATH, LINK_PATH, START_PATH } from "./options";
import { registerIdentityProviders } from "./routes";

export { passwordSignInPolicy } from "./options";

const html = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });
const redirect = (description: string) => ({
  description,
  headers: { location: { required: true, description: "Where the browser goes next", schema: { type: "string" as const } } },
});

/** Single sign-on with an organization's own OpenID provider: the admin API and the browser legs. */
export function registerFederation(app: OpenAPIHono<GatewayEnv>) {
  registerIdentityProviders(app);
  app.post(START_PATH, federationStart);
  app.get(CALLBACK_PATH, federationCallback);
  app.post(LINK_PATH, federationLink);

  const r = app.openAPIRegistry;
  const tags = ["Sign-in"];
  r.registerPath({
    method: "post",
    path: START_PATH,
    operationId: "federationStart",
    summary: "The login page's \"Continue with <provider>\" form: sends the browser to the organization's identity provider (CSRF-protected)",
    description: "Authorization code + PKCE (S256) upstream, with a state (also set in a cookie of this browser) and a nonce, valid 10 minutes.",
    tags,
    security: [],
    request: {
      body: {
        required: true,
        content: { "application/x-www-form-urlencoded": { schema: z.object({ provider: z.string(), csrf: z.string() }).passthrough() } },
      },
    },
    responses: { 303: redirect("To the provider's authorization endpoint"), 400: html("An error page"), 403: html("CSRF") },
  });
  r.registerPath({
    method: "get",
    path: CALLBACK_PATH,
    operationId: "federationCallback",
    summary: "Where the organization's identity provider sends the browser back (register it at the provider as the redirect URI)",
    description:
      "Checks the state against this browser's cookie (single use), iss if sent (RFC 9207), exchanges the code with the PKCE verifier, verifies " +
      "the ID token (signature by the provider's JWKS, iss, aud, exp, nonce), the email's domain, then signs in the account linked to the " +
      "upstream iss + sub, provisions one (JIT, with the mapped role), or asks for the password of the account with that email to link it. " +
      "Then the original authorization request goes on (a code back to the app). Every refusal is a page and creates nothing.",
    tags,
    security: [],
    request: { query: z.object({ state: z.string().optional(), code: z.string().optional(), iss: z.string().optional(), error: z.string().optional() }) },
    responses: {
      200: html("The link page (an account with this email exists), or the consent page of a third-party app"),
      302: redirect("Back to the app: code or error"),
      400: html("Refused (the page says why)"),
    },
  });
  r.registerPath({
    method: "post",
    path: LINK_PATH,
    operationId: "federationLink",
    summary: "The link page's form: the account's password, once, links it to the upstream identity (CSRF-protected, throttled like logins)",
    tags,
    security: [],
    responses: {
      200: html("The next page"),
      302: redirect("Back to the app"),
      400: html("Wrong password or a bad request"),
      403: html("CSRF"),
      429: {
        ...html("Too many failed attempts for the account"),
        headers: { "Retry-After": { required: true, description: "Seconds until the account may try again", schema: { type: "integer" as const } } },
      },
    },
  });
}
