import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./versions.handlers";
import * as routes from "./versions.routes";

export function registerVersions(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app.openapi(routes.listVersions, handlers.list).openapi(routes.getVersionContent, handlers.content);
}
