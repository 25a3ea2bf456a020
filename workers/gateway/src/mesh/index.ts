import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, fieldError, type IdentityContext, lazyHandler, lazyRoutes, loadOnce } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import type { ServiceEntry } from "../upstream/registry";

export type { DocumentedModel } from "./openapi";
export { registerLocalModels, type LocalModels } from "./local";

// What the request path and other rooms call, loaded on first use, not at start-up.
/** `?join=` on every service route (proxy.ts), wrapping the plain forward. */
export const meshForward = lazyHandler(() => import("./proxy").then((m) => m.meshForward));
export const meshCatalog = lazyHandler(() => import("./catalog/catalog").then((m) => m.meshCatalog));
// The modules the two checks below use, loaded by the first check and kept.
const existsModules = loadOnce(() => Promise.all([import("./models"), import("./rpc")]));
const referencesModules = loadOnce(() => Promise.all([import("./integrity"), import("./calls")]));

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
  const [{ catalogView }, { getMany }] = await existsModules();
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
  const [{ assertReferencesExist }, { detachedCaller }] = await referencesModules();
  await assertReferencesExist(detachedCaller(env, identity.request_id), identity, entry, write);
}

/**
 * The data mesh: the catalog of every service's models, search across services, relationships
 * between models and their join records, and `?join=` on every service route (meshForward, which
 * wraps the plain forward; reference integrity runs before it, see upstream/index.ts).
 */
export function registerMesh(app: OpenAPIHono<GatewayEnv>) {
  // Each group is built on its first request (lazyRoutes): a new route goes in its group's list.
  lazyRoutes(app, [["get", "/v1/mesh/models"]], () => import("./catalog").then((m) => m.registerMeshCatalog));
  lazyRoutes(app, [["get", "/v1/mesh/search"]], () => import("./search").then((m) => m.registerMeshSearch));
  lazyRoutes(
    app,
    [
      ["get", "/v1/mesh/relationships"],
      ["post", "/v1/mesh/relationships"],
      ["get", "/v1/mesh/relationships/{id}"],
      ["delete", "/v1/mesh/relationships/{id}"],
    ],
    () => import("./routes/relationships").then((m) => m.registerRelationships),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/mesh/joins"],
      ["post", "/v1/mesh/joins"],
      ["get", "/v1/mesh/joins/{id}"],
      ["delete", "/v1/mesh/joins/{id}"],
    ],
    () => import("./routes/joins").then((m) => m.registerJoins),
  );
}
