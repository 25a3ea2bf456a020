import type { OpenAPIHono } from "@hono/zod-openapi";
import { OPENAPI_VERSION, ProblemSchema, logError } from "@buildly/shared";
import { serviceRegistry } from "../../registry";
import type { GatewayEnv } from "../../types";
import { fetchServiceDoc, mergeServiceDoc } from "./aggregate";

/** Per-isolate cache: services' documents change only when they are deployed. */
const CACHE_MS = 30_000;
let cache: { at: number; doc: Record<string, unknown> } | undefined;

export function registerOpenApi(app: OpenAPIHono<GatewayEnv>) {
  // Services' identical Problem schemas fold into this one when documents are merged.
  app.openAPIRegistry.register("Problem", ProblemSchema);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from the gateway's token endpoint.",
  });

  app.get("/openapi.json", async (c) => {
    c.header("cache-control", "public, max-age=30");
    if (cache && Date.now() - cache.at < CACHE_MS) return c.json(cache.doc);
    const origin = new URL(c.req.url).origin;
    const doc = app.getOpenAPI31Document({
      openapi: OPENAPI_VERSION,
      info: {
        title: "Buildly Edge API",
        version: "1.0.0",
        description:
          "One document for the whole platform: the gateway's own endpoints and every logic service under /v1/<service>. " +
          "Errors are application/problem+json (RFC 9457).",
      },
      servers: [{ url: origin }],
      security: [{ bearerAuth: [] }],
    }) as unknown as Record<string, any>;
    doc.tags = [{ name: "Platform", description: "The gateway itself" }];
    const missing: string[] = [];
    for (const entry of serviceRegistry(c.env)) {
      try {
        mergeServiceDoc(doc, entry, await fetchServiceDoc(c.env, entry, c.get("requestId")));
      } catch (err) {
        missing.push(entry.name);
        logError(c.get("requestId"), "gateway", err, { during: "openapi aggregation", target: entry.name });
      }
    }
    if (missing.length) {
      doc.info.description += ` Unavailable while this document was built: ${missing.join(", ")}.`;
    } else {
      cache = { at: Date.now(), doc };
    }
    return c.json(doc);
  });
  return app;
}
