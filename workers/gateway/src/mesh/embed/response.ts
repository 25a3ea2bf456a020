const STALE_RESPONSE_HEADERS = ["content-length", "content-encoding", "etag", "last-modified", "content-range", "accept-ranges"];

export function isJson(response: Response): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(response.headers.get("content-type") ?? "");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A joined body with the service's response headers, minus those that described the service's own body. */
export function joinedResponse(body: unknown, from: Response, complete: boolean): Response {
  const headers = new Headers(from.headers);
  for (const name of STALE_RESPONSE_HEADERS) headers.delete(name);
  headers.set("content-type", "application/json");
  // Records are never cached: a joined read right after a write shows the write.
  headers.set("cache-control", "private, no-store");
  headers.set("mesh-complete", String(complete));
  return new Response(JSON.stringify(body), { status: from.status, headers });
}
