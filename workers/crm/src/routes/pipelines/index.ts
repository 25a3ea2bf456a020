import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./pipelines.handlers";
import * as routes from "./pipelines.routes";

export function registerPipelines(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listPipelines, handlers.list)
    .openapi(routes.createPipeline, handlers.create)
    .openapi(routes.getPipeline, handlers.get)
    .openapi(routes.updatePipeline, handlers.update)
    .openapi(routes.deletePipeline, handlers.remove);
}
