import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerMeshCatalog } from "./catalog";
import { registerJoins } from "./routes/joins";
import { registerRelationships } from "./routes/relationships";
import { registerMeshSearch } from "./search";

export { meshForward } from "./proxy";
export { meshCatalog } from "./catalog";
export { describeMeshOnService, type DocumentedModel } from "./openapi";

/**
 * The data mesh: the catalog of every service's models, search across services, relationships
 * between models and their join records, and `?join=` on every service route (meshForward, which
 * wraps the plain forward; reference integrity runs before it, see upstream/index.ts).
 */
export function registerMesh(app: OpenAPIHono<GatewayEnv>) {
  registerMeshCatalog(app);
  registerMeshSearch(app);
  registerRelationships(app);
  registerJoins(app);
}
