import type { Context } from "hono";
import type { MeshField, MeshModel, ServiceCatalog } from "@buildly/shared";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import { withDeadline } from "../upstream/deadline";
import type { GatewayEnv } from "../types";
import type { ModelRef } from "./relationships/relationship";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The mesh's questions to the catalog: which model is this, which is at this path, what fields does it have. */
export interface CatalogView {
  hasService(service: string): boolean;
  model(ref: ModelRef): MeshModel | undefined;
  /** The model whose collection (`id` null) or record (`id` set) `rest` (the path below the service's prefix) is. */
  locate(service: string, rest: string): { model: MeshModel; id: string | null } | undefined;
}

export function fieldOf(model: MeshModel, name: string): MeshField | undefined {
  return model.fields.find((f) => f.name === name);
}

export function viewOf(catalogs: ServiceCatalog[]): CatalogView {
  const byService = new Map(catalogs.map((c) => [c.service, c.models]));
  return {
    hasService: (service) => byService.has(service),
    model: (ref) => byService.get(ref.service)?.find((m) => m.name === ref.model),
    locate(service, rest) {
      for (const model of byService.get(service) ?? []) {
        if (rest === model.path || rest === model.path + "/") return { model, id: null };
        if (rest.startsWith(model.path + "/")) {
          const id = rest.slice(model.path.length + 1);
          if (UUID.test(id)) return { model, id: id.toLowerCase() };
        }
      }
      return undefined;
    },
  };
}

// TEMPORARY until the catalog reader (mesh/catalog, branch h8-services) is merged: asks each
// service's describe() directly.
let cached: { at: number; view: CatalogView } | undefined;
export async function catalogView(c: Context<GatewayEnv>): Promise<CatalogView> {
  if (cached && Date.now() - cached.at < 60_000) return cached.view;
  const catalogs: ServiceCatalog[] = [];
  for (const entry of serviceRegistry(c.env)) {
    const stub = serviceBinding(c.env, entry);
    try {
      if (stub) catalogs.push(await withDeadline(entry.name, entry.timeout_ms, () => stub.describe()));
    } catch {
      // a service without a catalog has no models to join
    }
  }
  cached = { at: Date.now(), view: viewOf(catalogs) };
  return cached.view;
}
