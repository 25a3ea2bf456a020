import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { ApiError, lazyHandler, lazyRoutes, notFoundHandler } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import { findService, serviceRegistry, type ServiceEntry } from "./registry";

export { registerConsole } from "./console";
export { ServiceCallError } from "./deadline";

// The service route's steps (and the data mesh's reference check) load on the first request, not at start-up.
export const forward = lazyHandler(() => import("./proxy").then((m) => m.forward));
const methodAllowed = lazyHandler(() => import("./methods").then((m) => m.methodAllowed));
const referenceIntegrity = lazyHandler(() => import("../mesh/integrity").then((m) => m.referenceIntegrity));

/** What answers a request routed to a service: `forward`, or a capability wrapping it (the data mesh). */
export type ServiceHandler = (c: Context<GatewayEnv>, entry: ServiceEntry) => Promise<Response>;

/** The gateway's own views of the logic services: `/health` and `/v1/services`, each built on its first request (lazyRoutes). */
export function registerUpstreamInfo(app: OpenAPIHono<GatewayEnv>) {
  lazyRoutes(app, [["get", "/health"]], () => import("./routes/health").then((m) => m.registerHealth));
  lazyRoutes(app, [["get", "/v1/services"]], () => import("./routes/services").then((m) => m.registerServices));
}

/**
 * Everything under /v<N>/<service>/ goes to that service through its binding: an unknown
 * service is 404 before anything else, a method the path does not have is 405 with Allow
 * (methods.ts, for the requests the service cannot answer that for), then `authenticate` verifies the token and checks the
 * roles, and `referenceIntegrity` refuses JSON writes naming another service's missing records
 * (mesh/integrity). Registered last, after every route the gateway serves itself.
 */
export function registerServiceRoutes(app: OpenAPIHono<GatewayEnv>, authenticate: MiddlewareHandler<GatewayEnv>, handler: ServiceHandler = forward) {
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
    methodAllowed,
    authenticate,
    referenceIntegrity,
    (c) => handler(c, c.get("entry")!),
  );
}
