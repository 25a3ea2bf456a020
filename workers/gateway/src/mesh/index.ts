import type { OpenAPIHono } from "@hono/zod-openapi";
import type { IdentityContext } from "@buildly/shared";
import type { GatewayEnv } from "../types";
import type { ServiceEntry } from "../upstream/registry";
import { detachedCaller } from "./calls";
import { assertReferencesExist } from "./integrity";
import { registerMeshCatalog } from "./catalog";
import { registerJoins } from "./routes/joins";
import { registerRelationships } from "./routes/relationships";
import { registerMeshSearch } from "./search";

export { meshForward } from "./proxy";
export { meshCatalog } from "./catalog";
export { describeMeshOnService, type DocumentedModel } from "./openapi";

/**
 * For writes the gateway makes on a caller's behalf outside the service routes (workflow
 * actions): the same reference check a direct write gets. `entry` is the written service.
 */
export async function checkReferencesOf(
  env: Env,
  identity: IdentityContext,
  entry: ServiceEntry,
  write: { method: string; rest: string; body: unknown },
): Promise<void> {
  await assertReferencesExist(detachedCaller(env, identity.request_id), identity, entry, write);
}

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
