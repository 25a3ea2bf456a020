import type { ServiceEntry } from "../upstream/registry";
import type { DocumentedModel } from "../mesh";
// Not through the mesh's index.ts, which the start-up path imports: this is loaded with the document.
import { describeMeshOnService } from "../mesh/openapi";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is untyped JSON walked by key
type Doc = Record<string, any>;

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** Component kinds renamed per service; securitySchemes are shared by name with the gateway's. */
const NAMESPACED_KINDS = ["schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links", "callbacks", "pathItems"];

function pascal(name: string): string {
  return name.replace(/(^|[-_])([a-z0-9])/g, (_, __, ch: string) => ch.toUpperCase());
}

function rewriteRefs(node: Json, rename: Map<string, string>): Json {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, rename));
  if (node && typeof node === "object") {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === "$ref" && typeof v === "string" ? (rename.get(v) ?? v) : rewriteRefs(v, rename);
    }
    return out;
  }
  return node;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Folds one service's document into the gateway's: paths under its prefix, component
 * names prefixed with the service's name (identical shared ones such as Problem are
 * folded into the gateway's own), operation ids and tags prefixed so none collide. `models` (the
 * service's catalog) says where the data mesh's `join` applies.
 */
export function mergeServiceDoc(target: Doc, entry: ServiceEntry, doc: Doc, models: readonly DocumentedModel[]): void {
  const ns = pascal(entry.name);
  const rename = new Map<string, string>();
  target.components ??= {};
  for (const kind of NAMESPACED_KINDS) {
    const comps = doc.components?.[kind] as Record<string, Json> | undefined;
    if (!comps) continue;
    for (const name of Object.keys(comps)) {
      const existing = target.components[kind]?.[name];
      const shared = existing !== undefined && sameJson(existing, comps[name]);
      rename.set(`#/components/${kind}/${name}`, `#/components/${kind}/${shared ? name : `${ns}_${name}`}`);
    }
  }
  for (const kind of NAMESPACED_KINDS) {
    const comps = doc.components?.[kind] as Record<string, Json> | undefined;
    if (!comps) continue;
    target.components[kind] ??= {};
    for (const [name, value] of Object.entries(comps)) {
      const newName = rename.get(`#/components/${kind}/${name}`)!.split("/").pop()!;
      if (newName === name) continue;
      target.components[kind][newName] = rewriteRefs(value, rename);
    }
  }
  const schemes = doc.components?.securitySchemes as Record<string, Json> | undefined;
  for (const [name, value] of Object.entries(schemes ?? {})) {
    target.components.securitySchemes ??= {};
    target.components.securitySchemes[name] ??= value;
  }

  target.paths ??= {};
  target.tags ??= [];
  const tagNames = new Set<string>((target.tags as { name: string }[]).map((t) => t.name));
  // The service's own document is reachable through the gateway too (GET /v1/<service>/openapi.json).
  const paths: Record<string, Doc> = {
    ...doc.paths,
    [entry.openapi]: {
      get: {
        operationId: "getOpenApi",
        summary: `The ${entry.title} service's own OpenAPI document`,
        tags: ["OpenAPI"],
        responses: { 200: { description: "An OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } } },
      },
    },
  };
  for (const [path, item] of Object.entries(paths)) {
    const newItem = rewriteRefs(item as Json, rename) as Doc;
    for (const method of HTTP_METHODS) {
      const op = newItem[method] as Doc | undefined;
      if (!op) continue;
      if (op.operationId) op.operationId = `${entry.name}_${op.operationId}`;
      op.tags = ((op.tags as string[] | undefined) ?? ["default"]).map((t) => `${entry.title} · ${t}`);
      for (const t of op.tags as string[]) {
        if (!tagNames.has(t)) {
          tagNames.add(t);
          target.tags.push({ name: t, description: `${entry.title} service (${entry.prefix})` });
        }
      }
      if (!op.security && doc.security) op.security = doc.security;
    }
    target.paths[entry.prefix + (path === "/" ? "" : path)] = newItem;
  }
  describeMeshOnService(target, entry.name, entry.prefix, models);
}
