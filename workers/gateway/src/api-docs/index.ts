import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerDocs } from "./docs-page";
import { registerOpenApi } from "./openapi";

/** The platform's aggregated OpenAPI document and the offline docs page. */
export function registerApiDocs(app: OpenAPIHono<GatewayEnv>) {
  registerOpenApi(app);
  registerDocs(app);
}
