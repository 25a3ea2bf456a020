import type { Context, MiddlewareHandler } from "hono";
import { logRequest, sanitizeRequestId, Telemetry } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

type OnError = (err: unknown, c: Context<GatewayEnv>) => Response;

/**
 * Request id and trace context for every call, echoed on the response and logged once. The trace
 * continues a valid incoming `traceparent` (W3C; anything else starts a new trace) and the answer
 * carries the gateway's span as `traceparent`, so a client can quote it; the log line names both ids.
 */
export function requestContext(onError: OnError): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const started = Date.now();
    const requestId = sanitizeRequestId(c.req.header("x-request-id"));
    const method = c.req.method;
    const tel = new Telemetry(c.env, "gateway", {
      parent: c.req.header("traceparent"),
      tracestate: c.req.header("tracestate"),
      name: method,
      kind: "server",
    });
    if (tel.recording) tel.root.setAttributes({ "http.request.method": method, "buildly.request_id": requestId });
    c.set("requestId", requestId);
    c.set("telemetry", tel);
    const traceparent = tel.traceparent();
    c.set("traceparent", traceparent);
    c.set("service", "gateway");
    try {
      await next();
    } catch (err) {
      // Errors thrown outside a handler (notFound) land here; render them so the log has the real status.
      c.res = onError(err, c);
    } finally {
      c.res.headers.set("x-request-id", requestId);
      // The root span's context, as sent on to the services (the same string: the root span's id does not change).
      c.res.headers.set("traceparent", traceparent);
      const route = c.req.routePath ?? c.req.path;
      const status = c.res.status;
      const duration = Date.now() - started;
      const service = c.get("service");
      const organization = c.get("principal")?.organization_id;
      logRequest({
        request_id: requestId,
        trace_id: tel.traceId,
        method,
        route,
        path: c.req.path,
        status,
        duration_ms: duration,
        service,
        upstream_ms: c.get("upstreamMs"),
        organization_id: organization,
      });
      if (tel.recording) recordRequest(c, tel, { method, route, status, duration, service, organization });
    }
  };
}

/** The request's span attributes and RED metrics, then the export after the answer. Never a token, header value or body. */
function recordRequest(
  c: Context<GatewayEnv>,
  tel: Telemetry,
  r: { method: string; route: string; status: number; duration: number; service: string; organization: string | undefined },
): void {
  const statusClass = `${Math.floor(r.status / 100)}xx`;
  tel.root.setName(`${r.method} ${r.route}`);
  tel.root.setAttributes({
    "http.route": r.route,
    "http.response.status_code": r.status,
    "buildly.service": r.service,
    "buildly.organization_id": r.organization,
  });
  if (r.status >= 500) tel.root.fail(`HTTP ${r.status}`);
  tel.root.end();
  const attrs = { service: r.service, route: r.route, method: r.method, status_class: statusClass };
  tel.count("buildly.http.server.requests", attrs);
  tel.observe("buildly.http.server.duration", attrs, r.duration);
  tel.activeUser(r.organization, c.get("principal")?.subject);
  try {
    c.executionCtx.waitUntil(tel.flush());
  } catch {
    // No execution context (app.request in a unit test): nothing to export to either.
  }
}
