import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import { health } from "./health.handlers";
import { getHealth } from "./health.routes";

export function registerHealth(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(getHealth, health);
}
