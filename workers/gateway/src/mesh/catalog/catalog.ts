import { ApiError, type MeshModel, type Problem, type ServiceCatalog } from "@buildly/shared";
import { serviceRegistry, type ServiceEntry } from "../../upstream/registry";
import { meshCall, type MeshCaller } from "../calls";
import { allLocalModels, localEntry } from "../local";

/*
 * The data mesh's catalog: every registered service's describe(), read in parallel and cached
 * per isolate for CATALOG_TTL_MS. A service that fails to describe itself is not cached (the next
 * request asks again) and is reported in `errors`; the others are served meanwhile.
 */

export const CATALOG_TTL_MS = 60_000;
/** describe() is schema, not data: it should answer fast whatever the service's own deadline. */
const DESCRIBE_TIMEOUT_MS = 3_000;

/** A model as the mesh knows it: the service's model plus where it lives. */
export interface CatalogModel extends MeshModel {
  /** "service.model", e.g. "crm.contacts". */
  key: string;
  service: string;
  entry: ServiceEntry;
}

/** A field that holds the id of another model's record. */
export interface MeshReference {
  /** "appointments.appointments" */
  from: string;
  /** "attendees[].contact_id" */
  field: string;
  /** "crm.contacts" */
  to: string;
}

export interface MeshCatalog {
  /** The services that described themselves, in registry order. */
  services: { entry: ServiceEntry; catalog: ServiceCatalog }[];
  /** Every model, keyed "service.model". */
  models: Map<string, CatalogModel>;
  references: MeshReference[];
  /** service name -> why its catalog is missing. */
  errors: Record<string, Problem>;
}

const cache = new Map<string, { at: number; catalog: ServiceCatalog }>();

/** Forgets the cached catalogs (tests; a deployment starts a new isolate anyway). */
export function forgetMeshCatalog(): void {
  cache.clear();
}

async function describeService(c: MeshCaller, entry: ServiceEntry): Promise<{ ok: true; data: ServiceCatalog } | { ok: false; error: Problem }> {
  const hit = cache.get(entry.name);
  if (hit && Date.now() - hit.at < CATALOG_TTL_MS) return { ok: true, data: hit.catalog };
  // Its schema is built by the first catalog read an isolate makes, not at start-up (and not within the call's deadline).
  const { ServiceCatalogSchema } = await import("./catalog.schemas");
  const result = await meshCall(c, entry, "describe", Math.min(entry.timeout_ms, DESCRIBE_TIMEOUT_MS), async (stub) => {
    const parsed = ServiceCatalogSchema.safeParse(await stub.describe());
    if (!parsed.success || parsed.data.service !== entry.name) {
      throw new ApiError(502, `The ${entry.name} service described its models in a shape the gateway does not accept.`, {
        extensions: { service: entry.name },
      });
    }
    return { ok: true as const, data: parsed.data };
  });
  if (result.ok) cache.set(entry.name, { at: Date.now(), catalog: result.data });
  return result;
}

/**
 * The mesh's catalog for this request (cached per isolate; a failing service is asked again next
 * time). `only` limits it to some services, so a request asks only the services it needs.
 */
export async function meshCatalog(c: MeshCaller, only?: readonly string[]): Promise<MeshCatalog> {
  const entries = serviceRegistry(c.env).filter((e) => !only || only.includes(e.name));
  const results = await Promise.all(entries.map((entry) => describeService(c, entry)));
  const out: MeshCatalog = { services: [], models: new Map(), references: [], errors: {} };
  const local = (await allLocalModels(only)).map((m) => ({ entry: localEntry(m), result: { ok: true as const, data: m.catalog } }));
  for (const { entry, result } of [...entries.map((entry, i) => ({ entry, result: results[i]! })), ...local]) {
    if (!result.ok) {
      out.errors[entry.name] = result.error;
      continue;
    }
    out.services.push({ entry, catalog: result.data });
    for (const model of result.data.models) {
      const key = `${entry.name}.${model.name}`;
      out.models.set(key, { ...model, key, service: entry.name, entry });
      for (const field of model.fields) {
        if (field.references) out.references.push({ from: key, field: field.name, to: `${field.references.service}.${field.references.model}` });
      }
    }
  }
  return out;
}

/**
 * The model a write to `rest` (the path below the service's prefix) creates or changes:
 * POST to the collection, PUT or PATCH to one record. Undefined for anything else (sub-resources,
 * actions), which the mesh leaves to the service.
 */
export function modelWrittenAt(catalog: ServiceCatalog, method: string, rest: string): MeshModel | undefined {
  const m = method.toUpperCase();
  return catalog.models.find((model) => {
    if (m === "POST") return rest === model.path || rest === `${model.path}/`;
    if (m === "PUT" || m === "PATCH") return rest.startsWith(`${model.path}/`) && /^[^/]+$/.test(rest.slice(model.path.length + 1));
    return false;
  });
}
