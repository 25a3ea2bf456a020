import type { OpenAPIHono } from "@hono/zod-openapi";
import { serviceRegistry } from "../../registry";
import type { GatewayEnv } from "../../../types";
import { probe } from "../health/health.handlers";
import { listServices } from "./services.routes";

export function registerServices(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(listServices, async (c) => {
    const entries = serviceRegistry(c.env);
    const health = await Promise.all(entries.map((e) => probe(c.env, e)));
    const data = entries.map((e, i) => ({
      name: e.name,
      title: e.title,
      version: e.version,
      prefix: e.prefix,
      openapi: e.prefix + e.openapi,
      health: health[i]!.status,
    }));
    return c.json({ data }, 200);
  });
}
