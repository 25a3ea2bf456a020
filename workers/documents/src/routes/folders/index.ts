import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./folders.handlers";
import * as routes from "./folders.routes";

export function registerFolders(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listFolders, handlers.list)
    .openapi(routes.createFolder, handlers.create)
    .openapi(routes.getFolder, handlers.get)
    .openapi(routes.updateFolder, handlers.update)
    .openapi(routes.deleteFolder, handlers.remove);
}
