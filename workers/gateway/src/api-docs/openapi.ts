import type { OpenAPIHono } from "@hono/zod-openapi";
import { ProblemSchema } from "@buildly/shared/openapi";
import type { GatewayEnv } from "../types";

export function registerOpenApi(app: OpenAPIHono<GatewayEnv>) {
  // Services' identical Problem schemas fold into this one when documents are merged.
  app.openAPIRegistry.register("Problem", ProblemSchema);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from the gateway's token endpoint.",
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This document: the gateway's endpoints and every logic service's under /v1/<service>",
    tags: ["Platform"],
    security: [],
    responses: { 200: { description: "An OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } } },
  });

  app.get("/openapi.json", async (c) => (await import("./document")).serveOpenApi(app, c));
  return app;
}
