import type { Context, MiddlewareHandler } from "hono";
import { ApiError, logError } from "@buildly/shared";
import { fetchServiceDoc } from "./service-doc";
import { actionFor } from "../identity/rbac";
import type { GatewayEnv } from "../types";
import type { ServiceEntry } from "./registry";

/*
 * 405 with Allow on the service routes, as the gateway's own routes answer. The services answer
 * a method they lack on a path they have with 405 and Allow themselves; two kinds of request
 * never reach them to find out, and are answered here from the service's own OpenAPI document:
 * a method the gateway never forwards (TRACE, CONNECT, OPTIONS that is not a CORS preflight, any
 * other name: none maps to a permission), and a request with `?join=`, which the data mesh
 * would otherwise take apart first.
 */

const DOC_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
/** Like the aggregated document's cache: a service's routes change only when it is deployed. */
const CACHE_MS = 30_000;
const cache = new Map<string, { at: number; routes: { pattern: RegExp; methods: string[] }[] }>();

function templatePattern(template: string): RegExp {
  const source = template
    .split("/")
    .map((segment) => (/^\{[^}]+\}$/.test(segment) ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}$`);
}

async function routesOf(c: Context<GatewayEnv>, entry: ServiceEntry) {
  const hit = cache.get(entry.name);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.routes;
  const doc = await fetchServiceDoc(c.env, entry, c.get("requestId"));
  const paths: Record<string, Record<string, unknown>> = { ...(doc.paths ?? {}), [entry.openapi]: { get: {} } };
  const routes = Object.entries(paths).map(([template, item]) => {
    const methods = DOC_METHODS.filter((m) => item?.[m]).map((m) => m.toUpperCase());
    if (methods.includes("GET") && !methods.includes("HEAD")) methods.push("HEAD");
    return { pattern: templatePattern(template), methods };
  });
  if (cache.size > 100) cache.clear();
  cache.set(entry.name, { at: Date.now(), routes });
  return routes;
}

/** The methods the service has at `rest` (below its prefix), sorted; empty when it has no such path. */
export async function allowedMethods(c: Context<GatewayEnv>, entry: ServiceEntry, rest: string): Promise<string[]> {
  const routes = await routesOf(c, entry);
  return [...new Set(routes.filter((r) => r.pattern.test(rest)).flatMap((r) => r.methods))].sort();
}

/** Runs on every service route before authentication, like the gateway's own 404 and 405. */
export const methodAllowed: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const entry = c.get("entry")!;
  const method = c.req.method;
  // Parsed only when there is a query at all (a read by id has none).
  const url = c.req.url;
  const joined = url.includes("?") && new URL(url).searchParams.has("join");
  if (actionFor(method) && !joined) return next();
  const rest = c.req.path.slice(entry.prefix.length) || "/";
  let allowed: string[];
  try {
    allowed = await allowedMethods(c, entry, rest);
  } catch (err) {
    logError(c.get("requestId"), "gateway", err, { during: "allowed methods", target: entry.name });
    // A method the gateway forwards goes on (the service answers for itself); another cannot be told apart.
    if (actionFor(method)) return next();
    throw new ApiError(503, `The ${entry.name} service's routes cannot be read right now. Try again.`, { headers: { "retry-after": "1" } });
  }
  if (!allowed.length) throw new ApiError(404, `No route matches ${method} ${c.req.path}.`);
  if (!allowed.includes(method)) {
    const allow = allowed.join(", ");
    throw new ApiError(405, `${method} is not allowed on ${c.req.path}. Allowed: ${allow}.`, { headers: { allow } });
  }
  await next();
};
