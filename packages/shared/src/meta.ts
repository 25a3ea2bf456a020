import type { OpenAPIHono } from "@hono/zod-openapi";
import { loadLazyRoutes } from "./lazy-routes";
import { OPENAPI_VERSION, stateTrimmedStrings } from "./openapi-document";
import type { ServiceHealth } from "./contract";

export interface ServiceInfo {
  title: string;
  description: string;
  version?: string;
}

/** `GET /openapi.json`: the service's OpenAPI 3.1, generated from its zod routes. */
// biome-ignore lint/suspicious/noExplicitAny: any Worker's app, whatever its env type
export function registerMeta(app: OpenAPIHono<any>, info: ServiceInfo) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from the gateway's token endpoint.",
  });
  const config = {
    openapi: OPENAPI_VERSION,
    info: { title: info.title, version: info.version ?? "1.0.0", description: info.description },
    security: [{ bearerAuth: [] }],
  };
  // As app.doc31, after stating what zod's trim refuses (blank-only strings).
  app.get("/openapi.json", async (c) => {
    await loadLazyRoutes(app);
    stateTrimmedStrings(app.openAPIRegistry.definitions);
    return c.json(app.getOpenAPI31Document(config));
  });
  return app;
}

/** A health check that really runs a query on the service's D1. */
export async function checkD1(service: string, db: D1Database): Promise<ServiceHealth> {
  try {
    const row = await db.prepare("SELECT count(*) AS n FROM d1_migrations").first<{ n: number }>();
    return { service, status: row && row.n > 0 ? "ok" : "error", checks: { d1: row && row.n > 0 ? "ok" : "error" } };
  } catch {
    return { service, status: "error", checks: { d1: "error" } };
  }
}
