/**
 * The console's files. The gateway forwards GET and HEAD of /console/* here unchanged; the app is
 * built with base /console/ and its files sit at the root of ./public, so the prefix is dropped
 * before the lookup. A path that names no file gets index.html (single-page-application).
 */

/** The page runs only the console's own files and talks only to its own origin (the gateway's API). */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const PREFIX = "/console";

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (url.pathname === PREFIX) return Response.redirect(`${url.origin}${PREFIX}/${url.search}`, 308);
    if (!url.pathname.startsWith(`${PREFIX}/`)) return new Response("Not found", { status: 404 });
    url.pathname = url.pathname.slice(PREFIX.length);
    const found = await env.ASSETS.fetch(new Request(url, { method: request.method, headers: request.headers }));
    const res = new Response(found.body, found);
    res.headers.set("content-security-policy", CSP);
    res.headers.set("x-content-type-options", "nosniff");
    res.headers.set("referrer-policy", "no-referrer");
    res.headers.set("x-frame-options", "DENY");
    // Hashed file names never change; the page itself is asked again each time (a deploy shows at once).
    const hashed = url.pathname.startsWith("/assets/");
    res.headers.set("cache-control", hashed && found.ok ? "public, max-age=31536000, immutable" : "no-cache");
    return res;
  },
} satisfies ExportedHandler<Env>;
