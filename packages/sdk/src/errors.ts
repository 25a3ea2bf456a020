/** An RFC 9457 problem, as every non-OAuth error of the platform is answered. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Per field, for validation errors (422). */
  errors?: { path: string; message: string }[];
  request_id?: string;
  [extension: string]: unknown;
}

/**
 * The platform answered, with a status other than 2xx. `problem` is the RFC 9457 body (an OAuth
 * error of the token endpoint, `{ error, error_description }`, is turned into one).
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: { path: string; message: string }[];
  readonly requestId: string | undefined;
  readonly problem: Problem;
  readonly response: Response;
  constructor(problem: Problem, response: Response) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ""}`);
    this.problem = problem;
    this.response = response;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.requestId = problem.request_id ?? response.headers.get("x-request-id") ?? undefined;
  }
}

/** No answer at all: the connection failed, or was cut before a response arrived. */
export class NetworkError extends Error {
  override readonly name = "NetworkError";
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** The problem a non-2xx answer carries, whatever its body (problem+json, OAuth JSON, text, none). */
export function problemOf(response: Response, body: unknown): Problem {
  const status = response.status;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    if (typeof b.title === "string") return { type: "about:blank", ...b, status: typeof b.status === "number" ? b.status : status } as Problem;
    if (typeof b.error === "string")
      return { type: "about:blank", title: b.error, status, detail: typeof b.error_description === "string" ? b.error_description : undefined };
  }
  const detail = typeof body === "string" && body ? body.slice(0, 500) : undefined;
  return { type: "about:blank", title: response.statusText || `HTTP ${status}`, status, detail };
}

/** An ApiError from a response whose body has not been read yet. */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return new ApiError(problemOf(response, body), response);
}
