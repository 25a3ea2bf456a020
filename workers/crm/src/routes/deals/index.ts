import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./deals.handlers";
import * as routes from "./deals.routes";

export function registerDeals(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listDeals, handlers.list)
    .openapi(routes.createDeal, handlers.create)
    .openapi(routes.getDeal, handlers.get)
    .openapi(routes.updateDeal, handlers.update)
    .openapi(routes.deleteDeal, handlers.remove);
}
