import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
const TYPE_BASE = "https://buildly.dev/problems/";

export interface FieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details, as every Buildly Worker writes them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ["bad-request", "Bad Request"],
  401: ["unauthorized", "Unauthorized"],
  403: ["forbidden", "Forbidden"],
  404: ["not-found", "Not Found"],
  405: ["method-not-allowed", "Method Not Allowed"],
  409: ["conflict", "Conflict"],
  411: ["length-required", "Length Required"],
  413: ["payload-too-large", "Content Too Large"],
  415: ["unsupported-media-type", "Unsupported Media Type"],
  422: ["validation-failed", "Unprocessable Content"],
  429: ["rate-limited", "Too Many Requests"],
  500: ["internal", "Internal Server Error"],
  502: ["bad-gateway", "Bad Gateway"],
  503: ["unavailable", "Service Unavailable"],
  504: ["gateway-timeout", "Gateway Timeout"],
};

export function problemType(status: number): string {
  return TYPE_BASE + (TITLES[status]?.[0] ?? `status-${status}`);
}

export function problemTitle(status: number): string {
  return TITLES[status]?.[1] ?? "Error";
}

export interface ApiErrorOptions {
  type?: string;
  title?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
}

/** The one error class every Worker throws; `onError` turns it into problem+json. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(status: number, detail: string, options: ApiErrorOptions = {}) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.type = options.type ?? problemType(status);
    this.title = options.title ?? problemTitle(status);
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  toProblem(requestId: string): Problem {
    // 5xx details are written by us, never copied from a caught exception.
    const body: Problem = {
      ...this.extensions,
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      request_id: requestId,
    };
    if (this.errors) body.errors = this.errors;
    return body;
  }
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, "content-type": PROBLEM_CONTENT_TYPE, "x-request-id": problem.request_id },
  });
}

/** Maps anything thrown to an ApiError; unknown errors become an opaque 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const status = err.status as number;
    // hono's own validators throw 400 for malformed bodies; keep their message (it holds no internals).
    return new ApiError(status, status >= 500 ? "The server could not complete the request." : err.message || problemTitle(status));
  }
  return new ApiError(500, "The server could not complete the request.");
}

export type { ContentfulStatusCode };

/** The 422 every Worker answers when one field fails a check the schema cannot express. */
export function fieldError(path: string, message: string, detail = "The request does not match the schema."): ApiError {
  return new ApiError(422, detail, { errors: [{ path, message }] });
}

/** The 422 for a cursor this API did not issue (or issued for another list, sort or query). */
export function invalidCursor(detail = "The cursor is not one this API issued."): ApiError {
  return fieldError("cursor", "Invalid cursor", detail);
}

/**
 * A per-organization quota is full (422) or one write alone is larger than it may be (413): the
 * same problem type everywhere, naming the quota and its limit. Not 429: waiting frees nothing.
 */
export function quotaExceeded(quota: string, limit: number, detail: string, status: 413 | 422 = 422): ApiError {
  return new ApiError(status, detail, { type: "https://buildly.dev/problems/quota-exceeded", title: "Quota exceeded", extensions: { quota, limit } });
}

/** The 404 of a read by id: the row is absent or belongs to another organization (the answer is the same). */
export function notFound(detail: string): ApiError {
  return new ApiError(404, detail);
}

/** A row read by id, or the 404 `detail` when there is none. */
export function orNotFound<T>(row: T | null | undefined, detail: string): T {
  if (row === undefined || row === null) throw notFound(detail);
  return row;
}
