import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { errorHandler, logError, notFoundHandler, validationHook } from "@buildly/shared/service";
import { registerApiDocs } from "./api-docs";
import { registerEvents } from "./events/wiring";
import { registerCalendarFeeds } from "./feeds";
import { edge } from "./http";
import { authenticate, registerIdentity } from "./identity";
import { rateLimit } from "./limits";
import { registerPrivacy } from "./privacy";
import { meshForward, registerMesh } from "./mesh";
import { registerConsole, registerServiceRoutes, registerUpstreamInfo, ServiceCallError } from "./upstream";
import type { GatewayEnv } from "./types";
import { registerWebhooks } from "./webhooks";
import { bearerFromSubprotocol, registerWorkflows } from "./workflows";

/** Wires the gateway's capabilities; each lives in its own folder. */
export function buildApp() {
  const app = new OpenAPIHono<GatewayEnv>({ defaultHook: validationHook as never });
  const render = errorHandler("gateway");
  const onError = (err: unknown, c: Context<GatewayEnv>) => {
    if (err instanceof ServiceCallError) {
      logError(c.get("requestId"), "gateway", err.cause, { target: c.get("service") });
    }
    return render(err, c);
  };
  // Request id and trace, CORS, the path's refusal, Server-Timing and (under /v1) private caching, in one pass.
  app.use("*", edge(onError));
  // A watcher's token comes as a WebSocket subprotocol: read before the rate limits, so that a
  // connect counts against its caller's limits, not its IP address's (issue 17).
  app.use("/v1/workflows/instances/:id/events", bearerFromSubprotocol);
  app.use("/v1/*", rateLimit);

  registerUpstreamInfo(app);
  registerApiDocs(app);
  registerIdentity(app);
  registerMesh(app);
  registerWorkflows(app);
  registerEvents(app);
  registerWebhooks(app);
  registerPrivacy(app);
  registerCalendarFeeds(app);
  registerConsole(app);
  registerServiceRoutes(app, authenticate, meshForward);

  app.onError(onError);
  app.notFound(notFoundHandler(app));
  return app;
}

export const app = buildApp();
