import createFetchClient, { type Client as FetchClient, type FetchResponse, type MaybeOptionalInit } from "openapi-fetch";
import type { HttpMethod, MediaType, PathsWithMethod, RequiredKeysOf } from "openapi-typescript-helpers";
import { type Auth, TokenSource, type Tokens } from "./auth.ts";
import { ApiError, problemOf } from "./errors.ts";
import type { paths } from "./generated/api.ts";
import { type RetryOptions, transport } from "./transport.ts";
import { type WatchOptions, type WorkflowEvent, watchWorkflow } from "./workflows.ts";

export interface ClientOptions extends RetryOptions {
  /** The gateway, e.g. https://api.example.com or http://127.0.0.1:8787 */
  baseUrl: string;
  /** Omitted: anonymous calls only (sign-up, the token endpoint, health, documents). */
  auth?: Auth;
  /** Add an Idempotency-Key to every POST and PATCH without one (default true). */
  idempotencyKeys?: boolean;
  /** Headers sent with every call. */
  headers?: ConstructorParameters<typeof Headers>[0];
  /** The fetch to use (default: the global one), e.g. one that logs or checks answers. */
  fetch?: typeof fetch;
}

type Init<I> = RequiredKeysOf<I> extends never ? [(I & { [key: string]: unknown })?] : [I & { [key: string]: unknown }];
/** The body of a 2xx answer: present unless the operation answers without one (204). */
type Body<R> = [Exclude<Extract<R, { error?: undefined }> extends { data?: infer D } ? D : never, undefined>] extends [never]
  ? undefined
  : Exclude<Extract<R, { error?: undefined }> extends { data?: infer D } ? D : never, undefined>;

/** One HTTP method of the API: resolves to the answer's body, rejects with ApiError or NetworkError. */
export type Method<M extends HttpMethod> = <P extends PathsWithMethod<paths, M>, I extends MaybeOptionalInit<paths[P], M>>(
  path: P,
  ...init: Init<I>
) => Promise<Body<FetchResponse<paths[P][M] & {}, I, MediaType>>>;

/** The same, resolving to `{ data, response }` (headers, status) instead of the body alone. */
export type MethodWithResponse<M extends HttpMethod> = <P extends PathsWithMethod<paths, M>, I extends MaybeOptionalInit<paths[P], M>>(
  path: P,
  ...init: Init<I>
) => Promise<{ data: Body<FetchResponse<paths[P][M] & {}, I, MediaType>>; response: Response }>;

export interface Client {
  GET: Method<"get">;
  POST: Method<"post">;
  PUT: Method<"put">;
  PATCH: Method<"patch">;
  DELETE: Method<"delete">;
  /** Every method again, with the Response (status, headers such as Location or ETag) beside the body. */
  withResponse: {
    GET: MethodWithResponse<"get">;
    POST: MethodWithResponse<"post">;
    PUT: MethodWithResponse<"put">;
    PATCH: MethodWithResponse<"patch">;
    DELETE: MethodWithResponse<"delete">;
  };
  /**
   * openapi-fetch's own client over the same transport (tokens, keys, retries): answers are
   * `{ data, error, response }` and never throw ApiError, for code that handles statuses itself.
   */
  raw: FetchClient<paths>;
  /** The tokens held now, after any refresh or rotation (undefined without auth or for client credentials never used). */
  tokens(): Tokens | undefined;
  /** A valid access token, renewed first when needed (for a WebSocket, or a call made by hand). */
  accessToken(): Promise<string | undefined>;
  /**
   * The live events of a workflow instance (a WebSocket) as an async iterator: a snapshot, then
   * every transition; reconnects with a fresh token when the socket drops; ends at a terminal state.
   */
  watchWorkflow(id: string, options?: WatchOptions): AsyncGenerator<WorkflowEvent, void, undefined>;
  readonly baseUrl: string;
}

type AnyCall = (path: string, init?: Record<string, unknown>) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

/**
 * A typed client of the whole platform: every path of GET /openapi.json, with its parameters,
 * bodies and answers typed from the document.
 */
export function createClient(options: ClientOptions): Client {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const tokens = options.auth ? new TokenSource(options.auth, baseUrl, fetchFn) : undefined;
  const send = transport({ ...options, baseUrl, tokens, fetch: fetchFn, idempotencyKeys: options.idempotencyKeys ?? true });
  const raw = createFetchClient<paths>({ baseUrl, fetch: send });
  const call = (m: "GET" | "POST" | "PUT" | "PATCH" | "DELETE") => async (path: string, init?: Record<string, unknown>) => {
    const { data, error, response } = await (raw[m] as unknown as AnyCall)(path, init);
    if (!response.ok) throw new ApiError(problemOf(response, error), response);
    return { data, response };
  };
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
  const withResponse = Object.fromEntries(methods.map((m) => [m, call(m)]));
  const bodies = Object.fromEntries(methods.map((m) => [m, async (path: string, init?: Record<string, unknown>) => (await call(m)(path, init)).data]));
  const accessToken = async () => tokens?.accessToken();
  const check = (id: string) => call("GET")("/v1/workflows/instances/{id}", { params: { path: { id } } });
  return {
    ...(bodies as unknown as Pick<Client, (typeof methods)[number]>),
    withResponse: withResponse as unknown as Client["withResponse"],
    raw,
    baseUrl,
    tokens: () => tokens?.current,
    accessToken,
    watchWorkflow: (id, opts) => watchWorkflow({ baseUrl, accessToken, check }, id, opts),
  };
}
