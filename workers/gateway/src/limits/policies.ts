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

const RoutePolicySchema = PolicySchema.extend({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  method: z.string().toUpperCase().optional(),
  /** A path prefix, e.g. /v1/documents/files */
  path: z.string().startsWith("/"),
  scope: z.enum(["user", "client", "organization", "ip"]),
});

const Limit = z.object({ limit: z.number().int().positive(), window_seconds: z.number().int().positive().max(86_400) });

export const RateLimitConfigSchema = z.object({
  user: PolicySchema,
  client: PolicySchema,
  organization: PolicySchema,
  ip: PolicySchema,
  routes: z.array(RoutePolicySchema).default([]),
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
export const OrganizationLimitsSchema = z
  .object({ user: Limit.optional(), client: Limit.optional(), organization: Limit.optional() })
  .strict();
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

/** The policies a request falls under, and the Durable Object that counts them. */
export function policiesFor(
  cfg: RateLimitConfig,
  req: { method: string; path: string },
  who: { kind: "user" | "client"; subject: string; organization_id: string } | { kind: "ip"; ip: string },
): { object: string; policies: AppliedPolicy[] } {
  const method = req.method.toUpperCase();
  const policies: AppliedPolicy[] = [];
  const routes = cfg.routes.filter((r) => (!r.method || r.method === method) && (req.path === r.path || req.path.startsWith(r.path.endsWith("/") ? r.path : r.path + "/")));
  if (who.kind === "ip") {
    policies.push(applied("ip", "ip", cfg.ip, method));
    for (const r of routes.filter((r) => r.scope === "ip")) policies.push(applied(`route-${r.name}`, `route:${r.name}`, r, method));
    return { object: `ip:${who.ip}`, policies };
  }
  policies.push(applied(who.kind, `${who.kind}:${who.subject}`, cfg[who.kind], method, who.kind));
  policies.push(applied("organization", "org", cfg.organization, method, "organization"));
  for (const r of routes) {
    if (r.scope === "ip") continue;
    if (r.scope === "organization") policies.push(applied(`route-${r.name}`, `route:${r.name}`, r, method));
    else if (r.scope === who.kind) policies.push(applied(`route-${r.name}`, `route:${r.name}:${who.kind}:${who.subject}`, r, method));
  }
  return { object: `org:${who.organization_id}`, policies };
}
