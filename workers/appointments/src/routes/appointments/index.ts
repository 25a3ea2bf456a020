import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./appointments.handlers";
import * as routes from "./appointments.routes";

export function registerAppointments(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listAppointments, handlers.list)
    .openapi(routes.createAppointment, handlers.create)
    .openapi(routes.getAppointment, handlers.get)
    .openapi(routes.updateAppointment, handlers.update)
    .openapi(routes.deleteAppointment, handlers.remove);
}
