import { ApiError } from "@buildly/shared";
import { servableMediaType } from "./media-type";

/** HTTP details of serving a stored body: conditional requests, byte ranges, the download name. */

/** RFC 8187 value: encodeURIComponent leaves ' ( ) * alone, which the ext-value grammar does not allow. */
export function rfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * An ASCII stand-in for clients that ignore filename*: accents dropped (é -> e), any other
 * non-ASCII character, and the quoted-string's own " and \, become "_".
 */
export function asciiFallback(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]|["\\%]/g, "_");
}

/**
 * Content-Disposition per RFC 6266: an ASCII filename first, then the exact name as filename*
 * (RFC 8187). Whatever the stored name holds, the result is a valid header value: lone UTF-16
 * surrogates (which encodeURIComponent throws on) become U+FFFD, and an empty name "download".
 */
export function contentDisposition(name: string, type: "attachment" | "inline" = "attachment"): string {
  const wellFormed = name.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD") || "download";
  return `${type}; filename="${asciiFallback(wellFormed)}"; filename*=UTF-8''${rfc8187(wellFormed)}`;
}

/** True when an If-None-Match header matches the (strong) ETag; weak comparison, as RFC 9110 §13.1.2 asks. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => {
    const tag = t.trim();
    return tag === etag || tag === `W/${etag}`;
  });
}

export type RangeResult = { kind: "full" } | { kind: "partial"; offset: number; length: number } | { kind: "unsatisfiable" };

/**
 * One byte range of a body of `size` bytes (RFC 9110 §14). Several ranges, or a header this
 * parser does not understand, are ignored (the whole body is served), which the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: "full" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "full" };
  let start: number;
  let end: number;
  if (m[1] === "") {
    // bytes=-N: the last N bytes.
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return { kind: "full" }; // invalid range-spec: ignore the header
    if (start >= size) return { kind: "unsatisfiable" };
  }
  return { kind: "partial", offset: start, length: end - start + 1 };
}

export interface StoredBody {
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  /** The name offered for the download. */
  name: string;
}

/**
 * Serves a stored body: ETag (the SHA-256) with If-None-Match -> 304, a single Range -> 206
 * (If-Range honoured), an unsatisfiable one -> 416, otherwise the whole body; always streamed.
 */
export async function serveStoredBody(request: Request, bucket: R2Bucket, body: StoredBody): Promise<Response> {
  const etag = `"${body.sha256}"`;
  const common: Record<string, string> = {
    etag,
    "accept-ranges": "bytes",
    "cache-control": "private, no-cache",
    "x-content-type-options": "nosniff",
  };
  if (noneMatch(request.headers.get("if-none-match") ?? undefined, etag)) return new Response(null, { status: 304, headers: common });

  const ifRange = request.headers.get("if-range");
  const range = ifRange !== null && ifRange.trim() !== etag ? ({ kind: "full" } as const) : parseRange(request.headers.get("range") ?? undefined, body.size);
  if (range.kind === "unsatisfiable") {
    throw new ApiError(416, `The range is outside the body's ${body.size} bytes.`, {
      type: "https://buildly.dev/problems/range-not-satisfiable",
      title: "Range Not Satisfiable",
      headers: { "content-range": `bytes */${body.size}` },
    });
  }
  const object = await bucket.get(body.key, range.kind === "partial" ? { range: { offset: range.offset, length: range.length } } : {});
  // A live row always has its object (see storage/purge.ts): this is a fault, not a 404.
  if (!object) throw new ApiError(500, "The file's body is missing.");
  const headers = new Headers({
    ...common,
    // A row written before uploads were checked (or by hand) must not make the download fail.
    "content-type": servableMediaType(body.contentType),
    "content-disposition": contentDisposition(body.name),
  });
  if (range.kind === "partial") {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${body.size}`);
    headers.set("content-length", String(range.length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("content-length", String(body.size));
  return new Response(object.body, { status: 200, headers });
}
