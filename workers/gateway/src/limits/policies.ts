import { z } from "zod";
import type { LimitCheck } from "./rate-limiter";

const PolicySchema = z.object({
  limit: z.number().int().positive(),
  window_seconds: z.number().int().positive().max(86_400),
  /** When the limiter cannot be reached: "open" lets the call through, "closed" refuses it (503).
   *  Unset: open for reads (GET, HEAD), closed for writes. */
  on_error: z.enum(["open", "closed"]).optional(),
  /** Abuse thresholds whose numbers should stay hidden: no RateLimit headers for them. */
  hidden: z.boolean().default(false),
});
export type PolicyConfig = z.infer<typeof PolicySchema>;

/**
 * A path pattern, matched segment by segment on the whole path: `{name}` and `*` stand for
 * one segment, a final `**` for any number of further segments (none included).
 */
const PathPattern = z
  .string()
  .startsWith("/")
  .refine(
    (p) =>
      p
        .split("/")
        .slice(1)
        .every((seg, i, all) => seg !== "" && (seg !== "**" || i === all.length - 1)),
    {
      message: "Segments must not be empty, and ** may only end a pattern",
    },
  );

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

const RoutePolicySchema = PolicySchema.extend({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  /** One method or a list; unset = every method. A policy on GET also covers HEAD. */
  method: oneOrMany(z.string().trim().toUpperCase()).optional(),
  /** One path pattern or a list, e.g. ["/v1/documents/files", "/v1/documents/files/{id}/content"]. */
  path: oneOrMany(PathPattern),
  /** Whose allowance: each user's, each API client's, the caller's (user or client), the organization's, or each IP address's. */
  scope: z.enum(["user", "client", "caller", "organization", "ip"]),
  /** Applies instead of the organization's own (tunable) user, client and organization limits, so a
   *  mistaken setting can always be undone through the route it covers. */
  exclusive: z.boolean().default(false),
}).refine((r) => !r.exclusive || r.scope === "caller" || r.scope === "organization", {
  // Instead of the per-caller limits, it must itself count every caller.
  message: "An exclusive policy needs scope caller or organization",
});
export type RoutePolicy = z.infer<typeof RoutePolicySchema>;

const Limit = z.object({ limit: z.number().int().positive(), window_seconds: z.number().int().positive().max(86_400) });

export const RateLimitConfigSchema = z.object({
  user: PolicySchema,
  client: PolicySchema,
  organization: PolicySchema,
  ip: PolicySchema,
  routes: z
    .array(RoutePolicySchema)
    .default([])
    // A policy's state is keyed by its name: two entries with one name would count twice.
    .refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, { message: "Route policy names must be unique" }),
  /** The most an organization's admin may set for its own user, client and organization limits. */
  max: z.object({ user: Limit, client: Limit, organization: Limit }),
});
export type RateLimitConfig = z.infer<typeof RateLimitConfigSchema>;

let cached: RateLimitConfig | undefined;

export function rateLimitConfig(env: Env): RateLimitConfig {
  if (cached) return cached;
  const raw = env.RATE_LIMITS as unknown;
  cached = RateLimitConfigSchema.parse(typeof raw === "string" ? JSON.parse(raw) : raw);
  return cached;
}

export function rateLimitingOn(env: Env): boolean {
  return env.RATE_LIMITING !== "off";
}

/** The limits an organization may set for itself: within the platform's maximums. */
export const OrganizationLimitsSchema = z.object({ user: Limit.optional(), client: Limit.optional(), organization: Limit.optional() }).strict();
export type OrganizationLimits = z.infer<typeof OrganizationLimitsSchema>;

export function withinMaximums(cfg: RateLimitConfig, limits: OrganizationLimits): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  for (const scope of ["user", "client", "organization"] as const) {
    const l = limits[scope];
    if (!l) continue;
    const max = cfg.max[scope];
    if (l.limit > max.limit || l.limit / l.window_seconds > max.limit / max.window_seconds) {
      errors.push({ path: `rate_limits.${scope}`, message: `At most ${max.limit} per ${max.window_seconds} s` });
    }
  }
  return errors;
}

export interface AppliedPolicy {
  name: string;
  check: LimitCheck;
  failClosed: boolean;
  hidden: boolean;
}

function applied(name: string, key: string, p: PolicyConfig, method: string, scope?: string): AppliedPolicy {
  const read = method === "GET" || method === "HEAD";
  return {
    name,
    check: { key, limit: p.limit, windowSeconds: p.window_seconds, scope },
    failClosed: p.on_error ? p.on_error === "closed" : !read,
    hidden: p.hidden,
  };
}

/**
 * The path as the policies see it: segments without empty ones (// and a trailing /), lower
 * case. Services route on the same percent-decoded path (an encoded / stays inside its
 * segment, as it does for them); folding case and empty segments can only make more requests
 * count, never fewer, so no spelling of a path dodges its policy.
 */
export function pathSegments(path: string): string[] {
  return path
    .split("/")
    .filter(Boolean)
    .map((s) => s.toLowerCase());
}

function patternMatches(pattern: string, segments: string[]): boolean {
  const parts = pathSegments(pattern);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "**") return true;
    const seg = segments[i];
    if (seg === undefined) return false;
    if (part !== "*" && !(part.startsWith("{") && part.endsWith("}")) && part !== seg) return false;
  }
  return parts.length === segments.length;
}

export function routeMatches(r: RoutePolicy, method: string, segments: string[]): boolean {
  if (r.method && !r.method.includes(method) && !(method === "HEAD" && r.method.includes("GET"))) return false;
  return r.path.some((p) => patternMatches(p, segments));
}

/** The policies a request falls under, and the Durable Object that counts them. */
export function policiesFor(
  cfg: RateLimitConfig,
  req: { method: string; path: string },
  who: { kind: "user" | "client"; subject: string; organization_id: string } | { kind: "ip"; ip: string },
): { object: string; policies: AppliedPolicy[] } {
  const method = req.method.toUpperCase();
  const segments = pathSegments(req.path);
  const policies: AppliedPolicy[] = [];
  const routes = cfg.routes.filter((r) => routeMatches(r, method, segments));
  const route = (r: RoutePolicy, key: string) => applied(`route-${r.name}`, `route:${r.name}${key}`, r, method);
  if (who.kind === "ip") {
    policies.push(applied("ip", "ip", cfg.ip, method));
    for (const r of routes.filter((r) => r.scope === "ip")) policies.push(route(r, ""));
    return { object: `ip:${who.ip}`, policies };
  }
  if (!routes.some((r) => r.exclusive)) {
    policies.push(applied(who.kind, `${who.kind}:${who.subject}`, cfg[who.kind], method, who.kind));
    policies.push(applied("organization", "org", cfg.organization, method, "organization"));
  }
  for (const r of routes) {
    if (r.scope === "organization") policies.push(route(r, ""));
    else if (r.scope === who.kind || r.scope === "caller") policies.push(route(r, `:${who.kind}:${who.subject}`));
  }
  return { object: `org:${who.organization_id}`, policies };
}
