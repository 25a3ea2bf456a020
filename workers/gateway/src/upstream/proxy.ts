import type { Context } from "hono";
import { ApiError, callService, IDENTITY_CONTEXT_HEADER, tooLarge, type IdentityContext } from "@buildly/shared";
import { withDeadline } from "./deadline";
import { timed } from "../http/server-timing";
import { identityFor } from "./identity-context";
import { idempotencyKey, idempotent, keyOwnerOf } from "../limits/idempotency";
import { actionFor } from "../identity/rbac";
import { clientIp } from "../http/client-ip";
import { serviceBinding, type ServiceEntry } from "./registry";
import type { GatewayEnv } from "../types";

/** Headers that describe one hop, or carry the client's credentials, never go to a service. */
const DROPPED_REQUEST_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "authorization",
  "cookie",
  "x-request-id",
  "traceparent",
  "tracestate",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  // Set by the gateway on every call (callService); a client's own never reaches a service.
  IDENTITY_CONTEXT_HEADER,
]);

const DROPPED_RESPONSE_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "set-cookie"]);

/**
 * Counts a body of unknown length on its way through and cuts it off past `maxBytes`. The
 * client's body is not cancelled then (`preventCancel`): once the pipe has stopped (`stopped`),
 * the gateway reads and drops the rest after its 413 (http/unread-body.ts). `release` stops the
 * pipe when the service answered without reading the body whole (a limit of its own smaller than
 * the gateway's): the client's body is let go so that its rest can be dropped the same way.
 */
function limitBody(body: ReadableStream<Uint8Array>, maxBytes: number) {
  const abort = new AbortController();
  let seen = 0;
  let exceeded = false;
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) {
        exceeded = true;
        controller.error(tooLarge(maxBytes));
      } else controller.enqueue(chunk);
    },
  });
  const stopped = body.pipeTo(transform.writable, { preventCancel: true, signal: abort.signal }).catch(() => undefined);
  const release = () => {
    abort.abort();
    return stopped;
  };
  return { stream: transform.readable, exceeded: () => exceeded, stopped, release };
}

/** The client's headers as a service receives them: no credentials or hop-by-hop ones; our request id and trace context. */
export function forwardedHeaders(c: Context<GatewayEnv>, entry: ServiceEntry, dropHeaders: string[] = [], inbound = new URL(c.req.url)): Headers {
  const headers = new Headers();
  for (const [name, value] of c.req.raw.headers) {
    if (!DROPPED_REQUEST_HEADERS.has(name) && !dropHeaders.includes(name)) headers.set(name, value);
  }
  headers.set("x-request-id", c.get("requestId"));
  const traceparent = c.get("traceparent");
  if (traceparent) {
    headers.set("traceparent", traceparent);
    const tracestate = c.req.header("tracestate");
    if (tracestate) headers.set("tracestate", tracestate);
  }
  const ip = clientIp(c.req.raw.headers, c.env.CLIENT_IP_HEADER);
  if (ip) headers.set("x-forwarded-for", ip);
  headers.set("x-forwarded-host", inbound.host);
  headers.set("x-forwarded-proto", inbound.protocol.replace(":", ""));
  headers.set("x-forwarded-prefix", entry.prefix);
  return headers;
}

/**
 * One request of the gateway's own to a service's `handle` on the caller's behalf (the data
 * mesh's writes): timed for Server-Timing, raced against the deadline, its response as a
 * client would see it. No permission check: the caller decides what is allowed.
 */
export async function dispatch(
  c: Context<GatewayEnv>,
  entry: ServiceEntry,
  init: { method: string; path: string; headers: Headers; body?: string; identity?: IdentityContext },
): Promise<Response> {
  const stub = serviceBinding(c.env, entry);
  if (!stub) throw new ApiError(502, `The ${entry.name} service is not bound to the gateway.`);
  const identity = init.identity ?? identityFor(c);
  const request = new Request(new URL(init.path, `https://${entry.name}.internal`), { method: init.method, headers: init.headers, body: init.body });
  const response = await timed(c, entry.name, "handle", (traceparent) =>
    withDeadline(entry.name, entry.timeout_ms, () => callService(stub, request, { ...identity, traceparent })),
  );
  return rewriteResponse(response, entry);
}

/** 403 unless the caller's roles allow the request's method on the service; the caller's identity context otherwise. */
export function authorize(c: Context<GatewayEnv>, entry: ServiceEntry): IdentityContext {
  const action = actionFor(c.req.method);
  const identity = action ? identityFor(c) : undefined;
  if (!action || !identity?.permissions[entry.name]?.includes(action)) {
    throw new ApiError(403, `Your roles do not allow ${action ?? c.req.method} on the ${entry.name} service.`);
  }
  return identity;
}

export interface ForwardOptions {
  /** The query to send instead of the client's (the data mesh strips its own `join`). */
  search?: string;
  /** Client headers not to pass on (besides credentials and hop-by-hop ones). */
  dropHeaders?: string[];
  /** The request's URL, when the caller has parsed it already (parsed here otherwise). */
  inbound?: URL;
}

/**
 * Forwards `/v1/<service>/<rest>` to the service's RPC entrypoint: method, path, query,
 * headers and the body as a stream, with the identity context as a typed argument.
 */
export async function forward(c: Context<GatewayEnv>, entry: ServiceEntry, options: ForwardOptions = {}): Promise<Response> {
  const identity = authorize(c, entry);
  const stub = serviceBinding(c.env, entry);
  if (!stub) throw new ApiError(502, `The ${entry.name} service is not bound to the gateway.`);

  const inbound = options.inbound ?? new URL(c.req.url);
  const rest = inbound.pathname.slice(entry.prefix.length);
  // The host, then the path: after the authority a rest such as //evil.example/x is a path, never
  // another host. Both parts come serialized (a parsed URL's pathname and search, or
  // URLSearchParams' output), so joining them is what setting them on a URL gave, one parse less.
  const target = `https://${entry.name}.internal${rest.startsWith("/") ? rest : `/${rest}`}${options.search ?? inbound.search}`;

  const headers = forwardedHeaders(c, entry, options.dropHeaders, inbound);

  const method = c.req.method;
  let stopped: Promise<void> = Promise.resolve();
  let release: () => Promise<void> = () => Promise.resolve();
  // The pipe lets go of the client's body before the 413, so that its rest can be read and dropped.
  const overLimit = async (): Promise<never> => {
    await stopped;
    throw tooLarge(entry.max_body_bytes);
  };
  const call = async (body: BodyInit | null, exceeded: () => boolean) => {
    const request = new Request(target, { method, headers, body });
    let response: Response;
    const started = Date.now();
    try {
      response = await timed(c, entry.name, "handle", (traceparent) =>
        withDeadline(entry.name, entry.timeout_ms, () => callService(stub, request, { ...identity, traceparent })),
      );
      c.set("upstreamMs", Date.now() - started);
    } catch (err) {
      c.set("upstreamMs", Date.now() - started);
      // The service failed because we cut its body off: that is the client's 413, not a 502.
      if (exceeded()) await overLimit();
      throw err;
    }
    if (exceeded()) {
      await response.body?.cancel();
      await overLimit();
    }
    // The service has answered: what it did not read of the body is the gateway's to drop.
    await release();
    return rewriteResponse(response, entry);
  };

  const key = idempotencyKey(c);
  if (key !== undefined) {
    // Keyed writes are read whole (to fingerprint them) and run at most once per caller and key.
    return idempotent(c, keyOwnerOf(c), key, entry.max_body_bytes, (body) => call(body, () => false));
  }

  let body: ReadableStream<Uint8Array> | null = null;
  let exceeded = () => false;
  if (method !== "GET" && method !== "HEAD" && c.req.raw.body) {
    const declared = Number(c.req.header("content-length") ?? "NaN");
    if (Number.isFinite(declared) && declared > entry.max_body_bytes) throw tooLarge(entry.max_body_bytes);
    if (Number.isFinite(declared)) body = c.req.raw.body;
    else ({ stream: body, exceeded, stopped, release } = limitBody(c.req.raw.body, entry.max_body_bytes));
  }
  return call(body, exceeded);
}

/**
 * The service's answer as the client gets it: the headers that describe one hop, and cookies,
 * taken out, and a Location the service gave as one of its own paths made the gateway's.
 */
export function rewriteResponse(response: Response, entry: ServiceEntry): Response {
  // A binding's fetch answers with immutable headers (callService): copied whole at once (one call
  // into the runtime; trying them in place first would throw on every call), then the same taken
  // out, so that the gateway's own headers can be set on it. No statusText: the services' is
  // empty, and workerd would then write a status line with no reason phrase.
  const out = new Response(response.body, { status: response.status, headers: response.headers });
  dropResponseHeaders(out.headers);
  const location = out.headers.get("location");
  if (location?.startsWith("/") && !location.startsWith("//")) {
    // Services answer with paths of their own; clients see the gateway's.
    out.headers.set("location", entry.prefix + location);
  }
  return out;
}

function dropResponseHeaders(headers: Headers): void {
  for (const name of DROPPED_RESPONSE_HEADERS) headers.delete(name);
}
