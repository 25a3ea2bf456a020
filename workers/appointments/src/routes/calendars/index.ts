import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./calendars.handlers";
import * as routes from "./calendars.routes";

export function registerCalendars(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listCalendars, handlers.list)
    .openapi(routes.createCalendar, handlers.create)
    .openapi(routes.getCalendar, handlers.get)
    .openapi(routes.updateCalendar, handlers.update)
    .openapi(routes.deleteCalendar, handlers.remove);
}
