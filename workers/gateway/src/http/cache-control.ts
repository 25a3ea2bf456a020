import type { Context } from "hono";
import { setResponseHeader } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

/** Directives only a shared cache reads; an answer that depends on the caller has no business there. */
const SHARED_ONLY = /^(public|s-maxage=.*|proxy-revalidate)$/i;

/**
 * The Cache-Control of an answer that depends on who asks: `private, no-store` unless the
 * route chose a policy of its own, which is kept but never public: made private (a download's
 * ETag revalidation), or left as it is when it already forbids storing (the token endpoint's
 * `no-store`, as RFC 6749 words it).
 */
export function privateCacheControl(value: string | null): string {
  if (!value?.trim()) return "private, no-store";
  const directives = value.split(",").map((d) => d.trim());
  const wasPrivate = directives.some((d) => d.toLowerCase() === "private");
  const kept = directives.filter((d) => d && !SHARED_ONLY.test(d) && d.toLowerCase() !== "private");
  if (kept.some((d) => d.toLowerCase() === "no-store")) return (wasPrivate ? ["private", ...kept] : kept).join(", ");
  return ["private", ...kept].join(", ");
}

/** What an answer with a given Cache-Control (or none) gets, worked out once per value and isolate. */
interface PrivatePolicy {
  cacheControl: string;
  /** Whether a cache that may keep it must key it by the token too (`Vary: Authorization`). */
  varyByToken: boolean;
  /** HTTP/1.0 caches know no Cache-Control; the token endpoint already says so, say it everywhere. */
  pragma: boolean;
}

/** By the route's own Cache-Control ("" for none): a handful of values (each route's fixed policy). */
const policies = new Map<string, PrivatePolicy>();

function privatePolicy(value: string | null): PrivatePolicy {
  const key = value ?? "";
  let policy = policies.get(key);
  if (!policy) {
    const cacheControl = privateCacheControl(value);
    policy = { cacheControl, varyByToken: !/\bno-store\b/i.test(cacheControl), pragma: cacheControl.includes("no-store") };
    // Bounded: a service chooses the values, and a deployment may add any.
    if (policies.size >= 64) policies.clear();
    policies.set(key, policy);
  }
  return policy;
}

/**
 * Everything under /v1 answers according to the caller's token (or, anonymous, its IP's
 * allowance), errors and proxied answers included: no shared cache may keep it, and a cache
 * that may keep it (the caller's own) must not hand it to another token. Run on the answer by
 * the edge (http/edge.ts) for the paths under /v1.
 */
export function makePrivate(c: Context<GatewayEnv>): void {
  const policy = privatePolicy(c.res.headers.get("cache-control"));
  // In place, or on a copy made once when the headers are immutable (a response passed through as is).
  setResponseHeader(c, "cache-control", policy.cacheControl);
  const res = c.res;
  if (policy.varyByToken) {
    const vary = res.headers.get("vary");
    if (!vary) res.headers.set("vary", "Authorization");
    else if (vary.trim() !== "*" && !vary.split(",").some((v) => v.trim().toLowerCase() === "authorization")) {
      res.headers.set("vary", `${vary}, Authorization`);
    }
  }
  if (policy.pragma && !res.headers.has("pragma")) res.headers.set("pragma", "no-cache");
}
