import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./activities.handlers";
import * as routes from "./activities.routes";

export function registerActivities(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listActivities, handlers.list)
    .openapi(routes.createActivity, handlers.create)
    .openapi(routes.getActivity, handlers.get)
    .openapi(routes.updateActivity, handlers.update)
    .openapi(routes.deleteActivity, handlers.remove);
}
