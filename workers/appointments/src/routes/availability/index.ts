import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./availability.handlers";
import * as routes from "./availability.routes";

export function registerAvailability(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app.openapi(routes.getAvailability, handlers.get);
}
