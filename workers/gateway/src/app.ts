import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, errorHandler, logError, notFoundHandler, validationHook } from "@buildly/shared";
import { ServiceCallError } from "./deadline";
import { corsPolicy } from "./middleware/cors";
import { authenticate } from "./middleware/authenticate";
import { rateLimit } from "./middleware/rate-limit";
import { requestContext } from "./middleware/request-context";
import { forward } from "./proxy";
import { findService, serviceRegistry } from "./registry";
import { registerAuth } from "./routes/auth";
import { registerClients } from "./routes/clients";
import { registerDocs } from "./routes/docs";
import { registerHealth } from "./routes/health";
import { registerInvitations } from "./routes/invitations";
import { registerOpenApi } from "./routes/openapi";
import { registerOrganizations } from "./routes/organizations";
import { registerRoles } from "./routes/roles";
import { registerServices } from "./routes/services";
import { registerUsers } from "./routes/users";
import type { GatewayEnv } from "./types";

export function buildApp() {
  const app = new OpenAPIHono<GatewayEnv>({ defaultHook: validationHook as never });
  const render = errorHandler("gateway");
  const onError = (err: unknown, c: Context<GatewayEnv>) => {
    if (err instanceof ServiceCallError) {
      logError(c.get("requestId"), "gateway", err.cause, { target: c.get("service") });
    }
    return render(err, c);
  };
  app.use("*", requestContext(onError));
  app.use("*", corsPolicy);
  app.use("/v1/*", rateLimit);

  registerHealth(app);
  registerServices(app);
  registerOpenApi(app);
  registerDocs(app);
  registerAuth(app);
  registerOrganizations(app);
  registerUsers(app);
  registerRoles(app);
  registerInvitations(app);
  registerClients(app);

  // Everything under /v<N>/<service>/ goes to that service through its binding: an unknown
  // service is 404 before anything else, then the token is verified, then the roles checked.
  const ownRoutes = notFoundHandler(app);
  app.all(
    "/:version{v[0-9]+}/:service/*",
    async (c, next) => {
      const entry = findService(serviceRegistry(c.env), c.req.path);
      if (!entry) {
        // One of the gateway's own paths with a method it does not serve: 405, not "no such service".
        try {
          ownRoutes(c);
        } catch (err) {
          if (err instanceof ApiError && err.status === 405) throw err;
        }
        throw new ApiError(404, `No service ${c.req.param("service")} in version ${c.req.param("version")}.`);
      }
      c.set("service", entry.name);
      c.set("entry", entry);
      await next();
    },
    authenticate,
    (c) => forward(c, c.get("entry")!),
  );

  app.onError(onError);
  app.notFound(notFoundHandler(app));
  return app;
}

export const app = buildApp();
