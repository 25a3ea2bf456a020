import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { ZodError } from "zod";
import { ApiError, problemResponse, toApiError, type FieldError } from "./errors";
import { identityContextSchema, type IdentityContext } from "./context";
import { logError, logRequest } from "./logging";
import { sanitizeRequestId } from "./request-id";
import { D1_BOOKMARK_HEADER, d1SessionFor } from "./d1-session";
import type { Telemetry } from "./telemetry";

export interface ServiceVariables {
  requestId: string;
  identity: IdentityContext;
}

/** Bindings of a logic service as its handlers see them: its own env plus the verified context. */
export type ServiceEnv<B> = { Bindings: B & { IDENTITY: IdentityContext; TELEMETRY?: Telemetry }; Variables: ServiceVariables };

export function zodIssuesToFieldErrors(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== "").join(".") || (prefix ?? ""),
    message: issue.message,
  }));
}

function requestIdOf(c: Context): string {
  return (c.get("requestId" as never) as string | undefined) ?? sanitizeRequestId(c.req.header("x-request-id"));
}

/** Renders any thrown value as problem+json and logs the cause of 5xx without showing it. */
export function errorHandler(service: string) {
  return (err: unknown, c: Context) => {
    const apiError = toApiError(err);
    const requestId = requestIdOf(c);
    if (apiError.status >= 500 && !(err instanceof ApiError)) logError(requestId, service, err, { path: c.req.path });
    return problemResponse(apiError.toProblem(requestId), apiError.headers);
  };
}

function routePattern(path: string): RegExp {
  const escaped = path
    .split("/")
    .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${escaped}$`);
}

/** 404 for unknown paths, 405 with Allow for a known path with another method. */
export function notFoundHandler(app: { routes: { method: string; path: string }[] }) {
  return (c: Context) => {
    const allowed = new Set<string>();
    for (const r of app.routes) {
      if (r.method === "ALL" || r.path === "/*" || r.path === "*") continue;
      if (routePattern(r.path).test(c.req.path)) allowed.add(r.method);
    }
    // Behind the gateway, name the path the client used.
    const shown = (c.req.header("x-forwarded-prefix") ?? "") + c.req.path;
    if (allowed.size > 0) {
      if (allowed.has("GET")) allowed.add("HEAD");
      const allow = [...allowed].sort().join(", ");
      throw new ApiError(405, `${c.req.method} is not allowed on ${shown}. Allowed: ${allow}.`, {
        headers: { allow },
      });
    }
    throw new ApiError(404, `No route matches ${c.req.method} ${shown}.`);
  };
}

/** The hook @hono/zod-openapi calls when a request part fails its schema: 422 with field paths. */
export const validationHook = (result: { success: boolean; error?: ZodError; target?: string }) => {
  if (!result.success && result.error) {
    throw new ApiError(422, "The request does not match the schema.", {
      errors: zodIssuesToFieldErrors(result.error, result.target === "json" ? undefined : result.target),
    });
  }
};

/**
 * A header on the answer already made. `c.header` after a handler has answered copies the whole
 * Response (hono builds a new one from its body) on every request; a service's own answers, and
 * the gateway's answers from a service over RPC, have mutable headers, so they are set in place.
 * One with immutable headers (`Response.redirect`, a response passed through as it came) still
 * gets its copy, once.
 */
export function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

/**
 * The app every logic service starts from: request id, one log line per request,
 * the shared 4xx/5xx rendering and a 422 for schema violations.
 */
export function createServiceApp<B extends object>(service: string) {
  const app = new OpenAPIHono<ServiceEnv<B>>({ defaultHook: validationHook as never });
  const onError = errorHandler(service);
  app.use("*", async (c, next) => {
    const identity = c.env.IDENTITY;
    const requestId = identity?.request_id ?? sanitizeRequestId(c.req.header("x-request-id"));
    c.set("requestId", requestId);
    c.set("identity", identity);
    const started = Date.now();
    try {
      await next();
    } catch (err) {
      // Errors thrown outside a handler (e.g. by notFound) reach here: render them now so the log line has the real status.
      c.res = onError(err, c);
    } finally {
      setResponseHeader(c, "x-request-id", requestId);
      const tel = c.env.TELEMETRY;
      if (tel?.recording) {
        // The call's span (started by the entrypoint) named by its route template; RED metrics per service and route.
        const route = c.req.routePath ?? c.req.path;
        const attrs = { service, route, method: c.req.method, status_class: `${Math.floor(c.res.status / 100)}xx` };
        tel.root.setName(`${c.req.method} ${route}`);
        tel.root.setAttributes({ "http.route": route, "http.response.status_code": c.res.status, "buildly.organization_id": identity?.organization_id });
        tel.count("buildly.http.server.requests", attrs);
        tel.observe("buildly.http.server.duration", attrs, Date.now() - started);
      }
      // Behind the gateway its own line already records the request (with the service and
      // the upstream time); a service adds one only for its server errors, or when called
      // without a context (tests, direct use).
      if (!identity || c.res.status >= 500)
        logRequest({
          request_id: requestId,
          method: c.req.method,
          route: c.req.routePath ?? c.req.path,
          status: c.res.status,
          duration_ms: Date.now() - started,
          service,
          organization_id: identity?.organization_id,
        });
    }
  });
  app.onError(onError);
  app.notFound(notFoundHandler(app));
  return app;
}

/**
 * JSON body guard for a route: 415 for another media type, 413 above `maxBytes`
 * (checked while reading, so a lying Content-Length does not help), 400 for malformed JSON.
 */
export function jsonBody(maxBytes = 1024 * 1024): MiddlewareHandler {
  return async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
      throw new ApiError(415, `Send the body as application/json (got ${type ? JSON.stringify(type) : "no Content-Type"}).`);
    }
    const text = await readTextLimited(c.req.raw, maxBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(400, "The request body is not valid JSON.");
    }
    c.req.bodyCache.json = Promise.resolve(parsed);
    await next();
  };
}

export async function readTextLimited(request: Request, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBytesLimited(request, maxBytes));
}

/** Reads a body whole, refusing (413) as soon as it passes `maxBytes`, declared or not. */
export async function readBytesLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  // Past the limit the body is left unread, not cancelled: a Worker that answers the client
  // itself reads and drops the rest after its answer (the gateway's http/unread-body.ts), since
  // cancelling it makes the runtime reset a connection the client is still sending on.
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.releaseLock();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

export function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, `The request body is larger than this route accepts (${maxBytes} bytes).`, {
    extensions: { max_bytes: maxBytes },
  });
}

/**
 * What a logic service's RPC `handle()` does: check the context the gateway sent,
 * then run the Hono app with it. A call without a valid context is refused.
 */
export async function handleWithContext<B extends object>(
  app: { fetch: (req: Request, env: B & { IDENTITY: IdentityContext }, ctx: ExecutionContext) => Response | Promise<Response> },
  env: B,
  ctx: ExecutionContext,
  request: Request,
  context: unknown,
  opts: {
    /** The service's name: its D1 queries then run in a session, with bookmarks (d1-session.ts). */
    service?: string;
    /** The env this call's handlers see, e.g. with a D1 that records who acts in the outbox (given the session's env). */
    envFor?: (identity: IdentityContext, env: B) => B;
  } = {},
): Promise<Response> {
  const parsed = identityContextSchema().safeParse(context);
  if (!parsed.success) {
    const rid = sanitizeRequestId(request.headers.get("x-request-id"));
    return problemResponse(new ApiError(401, "The call carries no valid identity context.").toProblem(rid));
  }
  const { service, envFor = (_identity: IdentityContext, e: B) => e } = opts;
  if (!service) return app.fetch(request, { ...envFor(parsed.data, env), IDENTITY: parsed.data }, ctx);
  let session: ReturnType<typeof d1SessionFor<B>>;
  try {
    session = d1SessionFor(env, service, request.headers);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return problemResponse(err.toProblem(parsed.data.request_id));
  }
  const response = await app.fetch(request, { ...envFor(parsed.data, session.env), IDENTITY: parsed.data }, ctx);
  const entry = session.entry();
  if (!entry) return response;
  try {
    response.headers.set(D1_BOOKMARK_HEADER, entry);
    return response;
  } catch {
    // Immutable headers (a response passed through as it came): a copy carries the bookmark.
    const copy = new Response(response.body, response);
    copy.headers.set(D1_BOOKMARK_HEADER, entry);
    return copy;
  }
}

/** Default `fetch` of a logic service: it is not reachable except through the gateway's RPC. */
export function refuseDirectFetch(request: Request): Response {
  const rid = sanitizeRequestId(request.headers.get("x-request-id"));
  return problemResponse(new ApiError(401, "This logic service is reachable only through the Buildly gateway.").toProblem(rid));
}
