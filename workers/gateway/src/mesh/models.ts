import type { Context } from "hono";
import type { MeshField, MeshModel, Problem } from "@buildly/shared";
import type { GatewayEnv } from "../types";
import { meshCatalog } from "./catalog/catalog";
import type { ModelRef } from "./relationships/relationship";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The questions relationships and joins ask the catalog (mesh/catalog). */
export interface CatalogView {
  hasService(service: string): boolean;
  model(ref: ModelRef): MeshModel | undefined;
  /** The model whose collection (`id` null) or record (`id` set) `rest` (the path below the service's prefix) is. */
  locate(service: string, rest: string): { model: MeshModel; id: string | null } | undefined;
  /** Services whose catalog could not be read just now. */
  errors: Record<string, Problem>;
}

export function fieldOf(model: MeshModel, name: string): MeshField | undefined {
  return model.fields.find((f) => f.name === name);
}

/** The catalog (cached per isolate by mesh/catalog), of `only` some services when given. */
export async function catalogView(c: Context<GatewayEnv>, only?: readonly string[]): Promise<CatalogView> {
  const catalog = await meshCatalog(c, only);
  const modelsOf = (service: string) => catalog.services.find((s) => s.entry.name === service)?.catalog.models ?? [];
  return {
    errors: catalog.errors,
    hasService: (service) => catalog.services.some((s) => s.entry.name === service),
    model: (ref) => catalog.models.get(`${ref.service}.${ref.model}`),
    locate(service, rest) {
      for (const model of modelsOf(service)) {
        if (rest === model.path || rest === `${model.path}/`) return { model, id: null };
        if (rest.startsWith(`${model.path}/`)) {
          const id = rest.slice(model.path.length + 1);
          if (UUID.test(id)) return { model, id: id.toLowerCase() };
        }
      }
      return undefined;
    },
  };
}
