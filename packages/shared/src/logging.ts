export interface RequestLogLine {
  request_id: string;
  method: string;
  route: string;
  status: number;
  duration_ms: number;
  service: string;
  [extra: string]: unknown;
}

/** One JSON line per request; Workers Logs and `wrangler tail` index the fields. */
export function logRequest(line: RequestLogLine): void {
  console.log(JSON.stringify({ level: "info", msg: "request", ...line }));
}

export function logError(request_id: string, service: string, err: unknown, extra: Record<string, unknown> = {}): void {
  // A library's own error code (jose's ERR_JWT_EXPIRED, Node-style codes) says what happened even
  // where minifying renamed the error's class (the gateway builds without keep_names).
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  const e =
    err instanceof Error ? { name: err.name, ...(typeof code === "string" ? { code } : {}), message: err.message, stack: err.stack } : { message: String(err) };
  console.error(JSON.stringify({ level: "error", msg: "unhandled error", request_id, service, ...extra, error: e }));
}
