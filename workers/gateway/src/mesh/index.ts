import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, fieldError, type IdentityContext } from "@buildly/shared";
import type { GatewayEnv } from "../types";
import type { ServiceEntry } from "../upstream/registry";
import { detachedCaller } from "./calls";
import { assertReferencesExist } from "./integrity";
import { registerMeshCatalog } from "./catalog";
import { catalogView } from "./models";
import { getMany } from "./rpc";
import { registerJoins } from "./routes/joins";
import { registerRelationships } from "./routes/relationships";
import { registerMeshSearch } from "./search";

export { meshForward } from "./proxy";
export { meshCatalog } from "./catalog";
export { describeMeshOnService, type DocumentedModel } from "./openapi";
export { registerLocalModels, type LocalModels } from "./local";

/**
 * Whether a record of `service`.`model` with this id exists in the caller's organization (one
 * getMany through the service's contract). A model the catalog does not know is 422 (naming
 * `path`'s fields); a service that cannot describe itself right now is 503.
 */
export async function meshRecordExists(
  c: Context<GatewayEnv>,
  ref: { service: string; model: string },
  id: string,
  paths: { service: string; model: string } = { service: "service", model: "model" },
): Promise<boolean> {
  const catalog = await catalogView(c, [ref.service]);
  if (Object.hasOwn(catalog.errors, ref.service)) {
    throw new ApiError(503, `The ${ref.service} service's models cannot be read right now. Try again.`, { extensions: { service: ref.service } });
  }
  if (!catalog.hasService(ref.service)) throw fieldError(paths.service, `No service ${ref.service} in the catalog`);
  if (!catalog.model(ref)) throw fieldError(paths.model, `The ${ref.service} service has no model ${ref.model}`);
  return (await getMany(c, ref, [id])).some((r) => r.id === id);
}

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
