import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./files.handlers";
import * as routes from "./files.routes";

export function registerFiles(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.listFiles, handlers.list)
    .openapi(routes.uploadFile, handlers.upload)
    .openapi(routes.getFile, handlers.get)
    .openapi(routes.updateFile, handlers.update)
    .openapi(routes.deleteFile, handlers.remove)
    .openapi(routes.getFileContent, handlers.content)
    .openapi(routes.putFileContent, handlers.putContent);
}
