import type { Context, MiddlewareHandler, Next } from "hono";
import { logRequest, sanitizeRequestId, Telemetry } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import { writeServerTiming } from "./server-timing";
import { makePrivate } from "./cache-control";
import { refusedPath } from "./canonical-path";
import { corsFor, exposeWithoutOrigin } from "./cors";

type OnError = (err: unknown, c: Context<GatewayEnv>) => Response;

/**
 * What every request goes through first and its answer last, in one middleware (it was five:
 * hono runs each as an async step of its own, on every request): the request id and trace
 * context, echoed on the answer and logged once; CORS; the refusal of a path with no canonical
 * form; `Server-Timing`; and, under /v1, the private caching headers. Each step runs where it
 * ran as a middleware of its own, in the same order, and a step's error is answered where hono
 * answered it then (the app's error handler, at that step), so every answer is as it was:
 *
 *   request id, trace → CORS → path refusal → Server-Timing → private caching (/v1) → the route
 *
 * The trace continues a valid incoming `traceparent` (W3C; anything else starts a new trace)
 * and the answer carries the gateway's span as `traceparent`, so a client can quote it; the
 * log line names both ids.
 */
export function edge(onError: OnError): MiddlewareHandler<GatewayEnv> {
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
      const cors = corsFor(c);
      if (!cors) await inner(c, next, onError);
      else if (!cors.run) {
        await inner(c, next, onError);
        exposeWithoutOrigin(c, cors.any);
      } else {
        // hono's `cors` answers a preflight itself; that answer stands as a middleware's would.
        const answer = await cors.run(c, () => inner(c, next, onError));
        if (answer instanceof Response && !c.finalized) c.res = answer;
      }
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

/** The steps inside CORS: the path's refusal, Server-Timing, and under /v1 the private caching headers, around the route. */
async function inner(c: Context<GatewayEnv>, next: Next, onError: OnError): Promise<void> {
  const refused = refusedPath(c.req.raw);
  if (refused) return answerError(c, refused, onError);
  const path = c.req.path;
  // The paths hono's "/v1/*" matches: /v1 itself and everything under /v1/.
  if (path !== "/v1" && !path.startsWith("/v1/")) {
    try {
      try {
        await next();
      } finally {
        writeServerTiming(c);
      }
    } catch (err) {
      answerError(c, err, onError);
    }
    return;
  }
  try {
    try {
      await next();
      makePrivate(c);
    } catch (err) {
      // An error thrown past the route (a not-found): answered here, without the caching headers, as before.
      answerError(c, err, onError);
    }
  } finally {
    writeServerTiming(c);
  }
}

/** What hono does with an error a middleware throws: the app's error handler answers it, at that step. */
function answerError(c: Context<GatewayEnv>, err: unknown, onError: OnError): void {
  if (!(err instanceof Error)) throw err;
  c.error = err;
  c.res = onError(err, c);
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
