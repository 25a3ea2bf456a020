import type { Context } from "hono";
import { NOOP_SPAN, type RpcResult, type Span, type Telemetry } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

/** What a service call needs of its caller: the request's telemetry (absent outside a request, e.g. a workflow's object). */
type Caller = Pick<Context<GatewayEnv>, "get">;

function outcomeOf(result: unknown): { outcome: string; status?: number } {
  if (result instanceof Response) return { outcome: `${Math.floor(result.status / 100)}xx`, status: result.status };
  if (result && typeof result === "object" && "ok" in result && typeof (result as RpcResult<unknown>).ok === "boolean") {
    const r = result as RpcResult<unknown>;
    return r.ok ? { outcome: "ok" } : { outcome: `${Math.floor(r.error.status / 100)}xx`, status: r.error.status };
  }
  return { outcome: "ok" };
}

/**
 * One call of the gateway to a logic service (a proxied request, a mesh RPC) as a client span:
 * `call` receives the `traceparent` that names this span, for the identity context it sends, so
 * the service's own span is this one's child. Counted in buildly.upstream.calls / .duration.
 * Without telemetry (off, or no request) `call` gets the request's traceparent and nothing is recorded.
 */
export async function serviceCall<T>(c: Caller, service: string, method: string, call: (traceparent: string | undefined) => Promise<T>): Promise<T> {
  const tel = c.get("telemetry") as Telemetry | undefined;
  if (!tel?.recording) return call(c.get("traceparent") as string | undefined);
  const span = tel.span(`${service} ${method}`, {
    kind: "client",
    attributes: { "rpc.system": "cloudflare_rpc", "rpc.service": service, "rpc.method": method },
  });
  const started = Date.now();
  let outcome = "error";
  try {
    const result = await call(tel.traceparent(span));
    const o = outcomeOf(result);
    outcome = o.outcome;
    if (o.status !== undefined) span.setAttributes({ "buildly.upstream.status": o.status });
    if (o.status !== undefined && o.status >= 500) span.fail(`${service} answered ${o.status}`);
    return result;
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
    tel.count("buildly.upstream.calls", { service, operation: method, outcome });
    tel.observe("buildly.upstream.duration", { service, operation: method }, Date.now() - started);
  }
}

/** A span around a step of the request (authentication, rate limiting, a D1 read of the gateway's own). */
export function requestSpan<T>(c: Caller, name: string, attributes: Record<string, string | number | boolean | undefined>, fn: () => Promise<T>): Promise<T> {
  const tel = c.get("telemetry") as Telemetry | undefined;
  if (!tel?.recording) return fn();
  return tel.inSpan(name, { attributes }, fn);
}

/**
 * A call to one of the gateway's Durable Objects (`IdempotencyStore begin`) as a client span of
 * the request: `call` gets the traceparent to hand the object, which continues the trace in a
 * server span of its own. Without telemetry `call` gets undefined and nothing is recorded.
 */
export function objectCall<T>(c: Caller, name: string, call: (trace: string | undefined, span: Span) => Promise<T>): Promise<T> {
  const tel = c.get("telemetry") as Telemetry | undefined;
  if (!tel?.recording) return call(undefined, NOOP_SPAN);
  return tel.inSpan(name, { kind: "client" }, (span) => call(tel.traceparent(span), span));
}
