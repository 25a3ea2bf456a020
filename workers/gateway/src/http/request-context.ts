import type { Context, MiddlewareHandler } from "hono";
import { logRequest, sanitizeRequestId, sanitizeTraceparent } from "@buildly/shared";
import type { GatewayEnv } from "../types";

type OnError = (err: unknown, c: Context<GatewayEnv>) => Response;

/** Request id and trace context for every call, echoed on the response and logged once. */
export function requestContext(onError: OnError): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const started = Date.now();
    const requestId = sanitizeRequestId(c.req.header("x-request-id"));
    c.set("requestId", requestId);
    c.set("traceparent", sanitizeTraceparent(c.req.header("traceparent")));
    c.set("service", "gateway");
    try {
      await next();
    } catch (err) {
      // Errors thrown outside a handler (notFound) land here; render them so the log has the real status.
      c.res = onError(err, c);
    } finally {
      c.res.headers.set("x-request-id", requestId);
      logRequest({
        request_id: requestId,
        method: c.req.method,
        route: c.req.routePath ?? c.req.path,
        path: c.req.path,
        status: c.res.status,
        duration_ms: Date.now() - started,
        service: c.get("service"),
        upstream_ms: c.get("upstreamMs"),
        organization_id: c.get("principal")?.organization_id,
      });
    }
  };
}
