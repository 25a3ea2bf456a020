import type { Context } from "hono";
import type { IdentityContext, ServiceCatalog } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import type { ServiceEntry } from "../upstream/registry";

type Row = Record<string, unknown>;

/**
 * Models the gateway holds itself (the privacy room's consent records), in the mesh like any
 * service's: they are in the catalog, relationships name them, and joins read them through the
 * same getMany/findBy, answered here from the gateway's D1 instead of over RPC. A room registers
 * its models (registerLocalModels) as a loader, so that they (and their schemas) are built by the
 * first mesh call that needs them, not when an isolate starts; the mesh never imports the room.
 */
export interface LocalModels {
  /** The catalog the models' "service" describes; its name is a reserved path segment (/v1/<service>). */
  catalog: ServiceCatalog;
  title: string;
  /** Whether the caller may read these records (a service's `read` permission stands for this). */
  mayRead(c: Context<GatewayEnv>): Promise<boolean>;
  getMany(d1: D1Database, model: string, ids: string[], identity: IdentityContext): Promise<Row[]>;
  /** Records whose `field` holds one of `values`, at most `perValue` per value, newest first. */
  findBy(d1: D1Database, model: string, field: string, values: string[], perValue: number, identity: IdentityContext): Promise<Row[]>;
}

const registered = new Map<string, () => Promise<LocalModels>>();

/** `service`'s models, loaded on first use (a module's dynamic import runs it once). */
export function registerLocalModels(service: string, load: () => Promise<LocalModels>): void {
  registered.set(service, load);
}

/** Whether `service` is one of the gateway's own (no load needed to tell). */
export function isLocalService(service: string): boolean {
  return registered.has(service);
}

export async function localModels(service: string): Promise<LocalModels | undefined> {
  return registered.get(service)?.();
}

export async function allLocalModels(only?: readonly string[]): Promise<LocalModels[]> {
  return Promise.all([...registered].filter(([service]) => !only || only.includes(service)).map(([, load]) => load()));
}

/** The registry entry a gateway-owned "service" stands as in the catalog. It has no binding: nothing is forwarded to it. */
export function localEntry(models: LocalModels): ServiceEntry {
  const name = models.catalog.service;
  return { name, binding: "", version: "v1", title: models.title, openapi: "", timeout_ms: 10_000, max_body_bytes: 0, prefix: `/v1/${name}` };
}
