import { createRoute, z } from "@hono/zod-openapi";
import { jsonContent } from "@buildly/shared";

export const ServiceSchema = z
  .object({
    name: z.string().openapi({ example: "crm" }),
    title: z.string().openapi({ example: "CRM" }),
    version: z.string().openapi({ example: "v1" }),
    prefix: z.string().openapi({ example: "/v1/crm" }),
    openapi: z.string().openapi({ example: "/v1/crm/openapi.json" }),
    health: z.enum(["ok", "error"]),
  })
  .openapi("Service");

export const listServices = createRoute({
  method: "get",
  path: "/v1/services",
  operationId: "listServices",
  summary: "The logic services behind the gateway, with version and health",
  tags: ["Platform"],
  // Answers without a token (rate-limited per IP address then).
  security: [],
  responses: {
    200: jsonContent(z.object({ data: z.array(ServiceSchema) }).openapi("ServiceList"), "Every registered service"),
  },
});
