import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../types";
import { setServerTiming } from "../calls";
import { searchAcrossServices } from "./search";
import { searchMesh } from "./search.routes";

/** GET /v1/mesh/search: every service's search, merged into one list. */
export function registerMeshSearch(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(searchMesh, async (c) => {
    const { q, models, limit, cursor } = c.req.valid("query");
    const { data, next_cursor, errors } = await searchAcrossServices(c, q, models, limit, cursor);
    const complete = Object.keys(errors).length === 0;
    c.header("mesh-complete", String(complete));
    c.header("cache-control", "no-store");
    setServerTiming(c);
    return c.json(complete ? { data, next_cursor } : { data, next_cursor, errors }, 200);
  });
}
