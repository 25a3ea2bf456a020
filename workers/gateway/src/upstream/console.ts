import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

/**
 * The web console (workers/console, its source in apps/console) on the gateway's own origin: GET
 * and HEAD of /console and /console/* go, unchanged, to the console's Worker through the CONSOLE
 * service binding. Same origin, so the console calls the API without CORS and the login session's
 * cookie reaches the hosted login page. Nothing else of the console lives in the gateway.
 */
export function registerConsole(app: OpenAPIHono<GatewayEnv>) {
  const toConsole = (c: Context<GatewayEnv>) => {
    const target = Reflect.get(c.env, "CONSOLE") as Fetcher | undefined;
    if (!target) throw new ApiError(404, "The console is not deployed with this gateway.");
    return target.fetch(c.req.raw);
  };
  app.get("/console", toConsole);
  app.get("/console/*", toConsole);
}
