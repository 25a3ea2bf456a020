import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./contacts.handlers";
import * as routes from "./contacts.routes";

export function registerContacts(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listContacts, handlers.list)
    .openapi(routes.createContact, handlers.create)
    .openapi(routes.getContact, handlers.get)
    .openapi(routes.updateContact, handlers.update)
    .openapi(routes.deleteContact, handlers.remove);
}
