import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./providers.handlers";
import * as routes from "./providers.routes";

export function registerIdentityProviders(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(routes.createIdentityProvider, handlers.create)
    .openapi(routes.listIdentityProviders, handlers.list)
    .openapi(routes.getIdentityProvider, handlers.get)
    .openapi(routes.updateIdentityProvider, handlers.update)
    .openapi(routes.deleteIdentityProvider, handlers.remove)
    .openapi(routes.getSsoPolicy, handlers.getPolicy)
    .openapi(routes.putSsoPolicy, handlers.putPolicy);
}
