import { cors } from "hono/cors";
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../types";

let handler: { origins: string; run: MiddlewareHandler } | undefined;

/**
 * CORS for the configured origins. Preflights are answered here, before any auth. Built once per
 * isolate. An OPTIONS that is not a preflight (no Access-Control-Request-Method) is a request
 * like any other: routed, and answered 405 with Allow, as no route has OPTIONS.
 */
export const corsPolicy: MiddlewareHandler<GatewayEnv> = (c, next) => {
  if (c.req.method === "OPTIONS" && !c.req.header("access-control-request-method")) return next();
  if (!handler || handler.origins !== c.env.CORS_ORIGINS) {
    const allowed = c.env.CORS_ORIGINS.split(",")
      .map((o) => o.trim())
      .filter(Boolean);
    handler = {
      origins: c.env.CORS_ORIGINS,
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
        exposeHeaders: [
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
        ],
        maxAge: 600,
      }),
    };
  }
  return handler.run(c, next);
};
