import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";

/** The registry's own list: the Problem schema's place in it is held before the schema is built. */
type Definitions = { _definitions: { type: "schema"; schema?: unknown }[] };

export function registerOpenApi(app: OpenAPIHono<GatewayEnv>) {
  // Services' identical Problem schemas fold into this one when documents are merged.
  // Its place is held first in the registry, as `register("Problem", ProblemSchema)` would; the
  // schema (@buildly/shared/openapi) is built by the document's first request, not at start-up.
  const place: { type: "schema"; schema?: unknown } = { type: "schema" };
  (app.openAPIRegistry as unknown as Definitions)._definitions.push(place);
  const placeProblem = (ProblemSchema: { openapi(refId: string): unknown }) => {
    place.schema ??= ProblemSchema.openapi("Problem");
  };
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

  app.get("/openapi.json", async (c) => (await import("./document")).serveOpenApi(app, c, placeProblem));
  return app;
}
