import { cors } from "hono/cors";
import type { Context, MiddlewareHandler } from "hono";
import { setResponseHeader } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

const EXPOSED = [
  "x-request-id",
  "location",
  "etag",
  "retry-after",
  "ratelimit",
  "ratelimit-policy",
  "idempotent-replayed",
  "content-range",
  "content-disposition",
  "accept-ranges",
  "server-timing",
  "mesh-complete",
  "buildly-d1-bookmark",
];
const EXPOSED_VALUE = EXPOSED.join(",");

let handler: { origins: string; any: boolean; run: MiddlewareHandler; plain: { any: boolean } } | undefined;

/**
 * What hono's `cors` does for a request without an `Origin` (every call that is not a browser's
 * cross-origin one, the API's usual caller), without its cost: it sets its headers on a
 * placeholder response before the route runs, and hono then copies the route's whole response
 * to merge them in. Here the same headers are set on the route's response once it is there:
 * `Access-Control-Allow-Origin: *` only when any origin is allowed (the origin callback's answer
 * for an empty origin), the exposed headers, and `Vary: Origin` appended.
 */
export function exposeWithoutOrigin(c: Context<GatewayEnv>, any: boolean): void {
  // In place, or on a copy made once when the headers are immutable (a response passed through as is), as hono's merge did.
  setResponseHeader(c, "access-control-expose-headers", EXPOSED_VALUE);
  const headers = c.res.headers;
  if (any) headers.set("access-control-allow-origin", "*");
  headers.append("vary", "Origin");
}

/**
 * CORS for the configured origins, as the edge (http/edge.ts) applies it around the rest of the
 * request: `undefined` for an OPTIONS that is not a preflight (no Access-Control-Request-Method),
 * a request like any other: routed, and answered 405 with Allow, as no route has OPTIONS; `run`
 * unset for a request without `Origin` (`exposeWithoutOrigin` on its answer); else hono's `cors`
 * to run around the rest, which answers preflights itself, before any auth. Built once per isolate.
 */
export function corsFor(c: Context<GatewayEnv>): { any: boolean; run?: MiddlewareHandler } | undefined {
  const method = c.req.method;
  if (method === "OPTIONS" && !c.req.header("access-control-request-method")) return undefined;
  if (!handler || handler.origins !== c.env.CORS_ORIGINS) {
    const allowed = c.env.CORS_ORIGINS.split(",")
      .map((o) => o.trim())
      .filter(Boolean);
    const any = allowed.includes("*");
    handler = {
      origins: c.env.CORS_ORIGINS,
      any,
      plain: { any },
      run: cors({
        origin: (origin) => (allowed.includes("*") ? "*" : allowed.includes(origin) ? origin : null),
        allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allowHeaders: [
          "authorization",
          "content-type",
          "idempotency-key",
          "x-request-id",
          "traceparent",
          "tracestate",
          "if-none-match",
          "range",
          "buildly-d1-bookmark",
        ],
        exposeHeaders: EXPOSED,
        maxAge: 600,
      }),
    };
  }
  return method !== "OPTIONS" && !c.req.header("origin") ? handler.plain : handler;
}
