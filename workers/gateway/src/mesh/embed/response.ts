import type { Row } from "../rpc";
import type { Embedding } from "./read";

const STALE_RESPONSE_HEADERS = ["content-length", "content-encoding", "etag", "last-modified", "content-range", "accept-ranges"];

export function isJson(response: Response): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(response.headers.get("content-type") ?? "");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const EMBEDDING_KEYS = ["_embedded", "_embedded_errors", "_embedded_more"];

/** `"_embedded":{...}` (and `_embedded_errors`, `_embedded_more` when set), the related records' texts as the services wrote them. */
function embeddingMembers(e: Embedding): string {
  let out = '"_embedded":{';
  let first = true;
  for (const key in e.embedded) {
    out += `${first ? "" : ","}${JSON.stringify(key)}:[${e.embedded[key]!.join(",")}]`;
    first = false;
  }
  out += "}";
  if (e.errors) out += `,"_embedded_errors":${JSON.stringify(e.errors)}`;
  if (e.more) out += `,"_embedded_more":${JSON.stringify(e.more)}`;
  return out;
}

/**
 * The record's JSON with its embedding added at the end: byte for byte what JSON.stringify gives
 * for the record with `_embedded` (etc.) set to the parsed related records, without parsing them.
 */
function recordText(record: Row, e: Embedding): string {
  if (EMBEDDING_KEYS.some((k) => Object.hasOwn(record, k))) {
    // A record that already has one of these names keeps their place: set them as values (never seen from our services).
    record._embedded = Object.fromEntries(Object.entries(e.embedded).map(([k, texts]) => [k, texts.map((t) => JSON.parse(t) as unknown)]));
    if (e.errors) record._embedded_errors = e.errors;
    if (e.more) record._embedded_more = e.more;
    return JSON.stringify(record);
  }
  const own = JSON.stringify(record);
  return own === "{}" ? `{${embeddingMembers(e)}}` : `${own.slice(0, -1)},${embeddingMembers(e)}}`;
}

/**
 * The joined body's text: `body` (a record, or `{ data: [...] }` holding the records) with each of
 * `records` embedding what `embeddings` says at the same index.
 */
export function joinedText(body: unknown, records: Row[], embeddings: Embedding[]): string {
  const texts = new Map<unknown, string>(records.map((r, i) => [r, recordText(r, embeddings[i]!)]));
  const own = texts.get(body);
  if (own !== undefined) return own;
  if (!isRecord(body) || !Array.isArray(body.data)) return JSON.stringify(body);
  const members: string[] = [];
  for (const key of Object.keys(body)) {
    const value =
      key === "data" ? `[${(body.data as unknown[]).map((item) => texts.get(item) ?? JSON.stringify(item) ?? "null").join(",")}]` : JSON.stringify(body[key]);
    if (value !== undefined) members.push(`${JSON.stringify(key)}:${value}`);
  }
  return `{${members.join(",")}}`;
}

/** A joined body with the service's response headers, minus those that described the service's own body. */
export function joinedResponse(text: string, from: Response, complete: boolean): Response {
  const headers = new Headers(from.headers);
  for (const name of STALE_RESPONSE_HEADERS) headers.delete(name);
  headers.set("content-type", "application/json");
  // Records are never cached: a joined read right after a write shows the write.
  headers.set("cache-control", "private, no-store");
  headers.set("mesh-complete", String(complete));
  return new Response(text, { status: from.status, headers });
}
