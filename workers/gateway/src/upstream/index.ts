import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { ApiError, notFoundHandler } from "@buildly/shared";
import type { GatewayEnv } from "../types";
import { referenceIntegrity } from "../mesh/integrity";
import { forward } from "./proxy";
import { findService, serviceRegistry } from "./registry";
import { registerHealth } from "./routes/health";
import { registerServices } from "./routes/services";

export { ServiceCallError } from "./deadline";

/** The gateway's own views of the logic services: `/health` and `/v1/services`. */
export function registerUpstreamInfo(app: OpenAPIHono<GatewayEnv>) {
  registerHealth(app);
  registerServices(app);
}

/**
 * Everything under /v<N>/<service>/ goes to that service through its binding: an unknown
 * service is 404 before anything else, then `authenticate` verifies the token and checks the
 * roles, and `referenceIntegrity` refuses JSON writes naming another service's missing records
 * (mesh/integrity). Registered last, after every route the gateway serves itself.
 */
export function registerServiceRoutes(app: OpenAPIHono<GatewayEnv>, authenticate: MiddlewareHandler<GatewayEnv>) {
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
    referenceIntegrity,
    (c) => forward(c, c.get("entry")!),
  );
}
