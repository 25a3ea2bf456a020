import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../types";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { PASSKEY_SCRIPT_PATH } from "./signin";

export { afterPassword, enrollAtSignIn, passkeyForm, passkeySignIn, secondFactorCode, PASSKEY_SCRIPT_PATH, type SignInSteps } from "./signin";
export { secondFactorState } from "./policy";
export { sweepSpentTokens } from "./sealed";

/** Second factors: TOTP with recovery codes, passkeys, the organization's policy for admins. */
export function registerMfa(app: OpenAPIHono<GatewayEnv>) {
  app.get(PASSKEY_SCRIPT_PATH, handlers.passkeyScript);
  app.openAPIRegistry.registerPath({
    method: "get",
    path: PASSKEY_SCRIPT_PATH,
    operationId: "passkeyScript",
    summary: "The login page's passkey script (JavaScript)",
    tags: ["Sign-in"],
    security: [],
    responses: { 200: { description: "The script", content: { "text/javascript": { schema: { type: "string" } } } } },
  });
  return app
    .openapi(routes.listFactors, handlers.listFactors)
    .openapi(routes.startTotp, handlers.startTotp)
    .openapi(routes.confirmTotp, handlers.confirmTotp)
    .openapi(routes.disableTotp, handlers.disableTotp)
    .openapi(routes.regenerateRecoveryCodes, handlers.regenerateRecoveryCodes)
    .openapi(routes.passkeyRegistrationOptions, handlers.passkeyRegistrationOptions)
    .openapi(routes.registerPasskeyRoute, handlers.registerPasskeyHandler)
    .openapi(routes.removePasskey, handlers.removePasskey)
    .openapi(routes.signinPasskeyOptions, handlers.signinPasskeyOptions)
    .openapi(routes.getPolicy, handlers.getPolicy)
    .openapi(routes.putPolicy, handlers.putPolicy);
}
