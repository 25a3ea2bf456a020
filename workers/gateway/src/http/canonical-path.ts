import { ApiError } from "@buildly/shared/service";

/*
 * One spelling per path, fixed before routing, so every check (the routes, the rate limits'
 * route policies, reference integrity, the data mesh, the services) compares the same string.
 * Without it `/v1/appointments/%61ppointments` reached the appointments collection while every
 * check compared the raw path with `/appointments` and looked away.
 *
 * The rules (README, "Paths"):
 * - A percent-encoded unreserved character (RFC 3986: A-Z a-z 0-9 - . _ ~) is decoded: `%61` is
 *   `a`, `%2D` is `-`. Upper- and lower-case hex digits alike.
 * - Any other percent-encoding is kept, its hex digits made upper-case (`%c3%a9` -> `%C3%A9`).
 * - Decoding happens once: `%25` stays `%25`, so `%2561` is the text `%61`, which names no route.
 * - An encoded `/` or `\` (`%2F`, `%5C`), an encoded control character (`%00`-`%1F`, `%7F`), a
 *   malformed escape (`%G1`, a lone `%`), and a `.` or `..` segment left after decoding are
 *   refused with 400: no route of the platform takes one, and each is how paths are smuggled.
 *   (The URL parser already resolves literal and `%2e`-spelled dot segments before this runs.)
 * - Runs of `/` are one `/`: `/v1//crm///contacts` is `/v1/crm/contacts`.
 * - A trailing `/` is kept: it names another path (which answers 404).
 * The query string is left as it is.
 */

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

export type CanonicalPath = { ok: true; path: string } | { ok: false; detail: string };

/** What any rule above acts on; a path with none of it (most paths) is its own canonical form. */
const ACTED_ON = /[%\\]|\/\/|\/\.\.?(?:\/|$)/;

export function canonicalPath(raw: string): CanonicalPath {
  if (raw.startsWith("/") && !ACTED_ON.test(raw)) return { ok: true, path: raw };
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch !== "%") {
      if (ch === "\\") return { ok: false, detail: "A path may not contain \\." };
      out += ch;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, detail: "The path has a malformed percent-encoding (% must be followed by two hex digits)." };
    const code = Number.parseInt(hex, 16);
    const decoded = String.fromCharCode(code);
    if (code < 0x20 || code === 0x7f) return { ok: false, detail: "The path encodes a control character." };
    if (decoded === "/" || decoded === "\\") return { ok: false, detail: "The path encodes a / or \\ (%2F, %5C), which no route takes." };
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  out = out.replace(/\/{2,}/g, "/");
  if (out.split("/").some((segment) => segment === "." || segment === "..")) return { ok: false, detail: "The path has a . or .. segment." };
  return { ok: true, path: out || "/" };
}

/**
 * The path of a URL the runtime serialized (a Request's `url`), as `new URL(url).pathname` reads
 * it, without parsing the URL again: it starts at the first `/` after the `//` of the authority
 * (which a serialized URL percent-encodes in user info) and ends at the first `?` or `#` (which a
 * serialized path percent-encodes).
 */
export function pathnameOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.indexOf("?", start);
  if (end < 0) end = url.length;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

/** The request with its path in canonical form (the same request when it already is); a refused path is left for `refusedPath`. */
export function canonicalRequest(request: Request): Request {
  const raw = pathnameOf(request.url);
  const canonical = canonicalPath(raw);
  if (!canonical.ok || canonical.path === raw) return request;
  const url = new URL(request.url);
  url.pathname = canonical.path;
  return new Request(url, request);
}

/** The 400 for a path that has no canonical form (see above), refused by the edge (http/edge.ts) before anything else sees it. */
export function refusedPath(request: Request): ApiError | undefined {
  const canonical = canonicalPath(pathnameOf(request.url));
  return canonical.ok ? undefined : new ApiError(400, canonical.detail);
}
