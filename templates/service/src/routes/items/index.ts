import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./items.handlers";
import * as routes from "./items.routes";

export function registerItems(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listItems, handlers.list)
    .openapi(routes.createItem, handlers.create)
    .openapi(routes.getItem, handlers.get)
    .openapi(routes.updateItem, handlers.update)
    .openapi(routes.deleteItem, handlers.remove);
}
