import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./companies.handlers";
import * as routes from "./companies.routes";

export function registerCompanies(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listCompanies, handlers.list)
    .openapi(routes.createCompany, handlers.create)
    .openapi(routes.getCompany, handlers.get)
    .openapi(routes.updateCompany, handlers.update)
    .openapi(routes.deleteCompany, handlers.remove);
}
