import { jsonContent } from "@buildly/shared";
import { createRoute, z } from "@hono/zod-openapi";

export const ServiceHealthSchema = z
  .object({
    service: z.string().openapi({ example: "crm" }),
    status: z.enum(["ok", "error"]),
    checks: z.record(z.string(), z.enum(["ok", "error"])).openapi({ example: { d1: "ok" } }),
    duration_ms: z.number(),
  })
  .openapi("ServiceHealth");

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    gateway: z.literal("ok"),
    services: z.array(ServiceHealthSchema),
  })
  .openapi("Health");

export const getHealth = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  summary: "Health of the gateway and of every logic service (each runs a query on its D1)",
  tags: ["Platform"],
  security: [],
  responses: {
    200: jsonContent(HealthSchema, "Everything is up"),
    503: jsonContent(HealthSchema, "At least one service is down"),
  },
});
