import type { Context, MiddlewareHandler } from "hono";
import { ApiError, logError, NOOP_SPAN, type Span, type Telemetry } from "@buildly/shared";
import type { Decision } from "./gcra";
import { asLeaseCall, leaseInFlight, leaseKey, recordAcquired, setCredit, spendLeased, takeCredit, takeReports, unspent } from "./leases";
import { LEASE_MAX_PERMITS, type AcquireOptions, type Acquired, type LimitCheck } from "./rate-limiter";
import { policiesFor, rateLimitConfig, rateLimitingOn, type AppliedPolicy } from "./policies";
import type { GatewayEnv } from "../types";
import { tryAuthenticate } from "../identity/authenticate";
import { clientIp, ipLimitKey } from "../http/client-ip";
import { ServiceCallError, withDeadline } from "../upstream/deadline";

/** How long the limiter may take before its policies' on_error decides. */
const LIMITER_DEADLINE_MS = 1000;

function limiter(env: Env) {
  return env.RATE_LIMITER;
}

/**
 * Structured-field headers of the IETF httpapi rate-limit headers draft, for the policies that are
 * not hidden (none: no headers). Built as two strings in one pass: this runs on every /v1 request.
 */
function headers(policies: AppliedPolicy[], decisions: Decision[]): Record<string, string> | undefined {
  let policy = "";
  let limit = "";
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    if (p.hidden) continue;
    const d = decisions[i]!;
    const sep = policy ? ", " : "";
    policy += `${sep}"${p.name}";q=${d.limit ?? p.check.limit};w=${d.window ?? p.check.windowSeconds}`;
    limit += `${sep}"${p.name}";r=${d.remaining};t=${d.reset}`;
  }
  return policy ? { "ratelimit-policy": policy, ratelimit: limit } : undefined;
}

/**
 * One call to the object for `key`: reports what became of this isolate's earlier leases, and
 * asks for a decision (`admit`) and, when `lease`, permits on top. With `tel` (only given while
 * it records) the call is a client span under `parent`, whose context the object continues;
 * without it, nothing more than the call is made or allocated.
 */
async function ask(
  env: Env,
  object: string,
  checks: LimitCheck[],
  key: string,
  admit: boolean,
  lease: boolean,
  tel?: Telemetry,
  parent?: Span,
): Promise<Acquired> {
  const reports = takeReports(key);
  const askedAt = Date.now();
  const options: AcquireOptions = { lease, reports };
  const span = tel?.span("RateLimiter acquire", { kind: "client", parent, attributes: { "buildly.ratelimit.admit": admit, "buildly.ratelimit.lease": lease } });
  if (tel && span) options.trace = tel.traceparent(span);
  let acquired: Acquired;
  try {
    acquired = await withDeadline("rate limiter", LIMITER_DEADLINE_MS, () => limiter(env).getByName(object).acquire(checks, admit, options));
  } catch (err) {
    span?.fail(err);
    throw err;
  } finally {
    span?.end();
  }
  recordAcquired(key, askedAt, acquired);
  return acquired;
}

/** Tops up a lease in the background; a failure only means the next requests ask themselves. */
async function refill(env: Env, object: string, checks: LimitCheck[], key: string): Promise<void> {
  try {
    await asLeaseCall(key, () => ask(env, object, checks, key, false, true));
  } catch (err) {
    logError("lease", "gateway", err instanceof ServiceCallError ? err.cause : err, { during: "rate limit lease", object });
  }
}

/** Waits for the call under way that may bring `key` a lease, at most the limiter's deadline. */
async function awaitLease(key: string): Promise<void> {
  const pending = leaseInFlight(key);
  if (!pending) return;
  let timer: number | undefined;
  // The timer is this request's own: the pending call belongs to another request.
  await Promise.race([pending, new Promise<void>((r) => (timer = setTimeout(r, LIMITER_DEADLINE_MS)))]);
  if (timer !== undefined) clearTimeout(timer);
}

/** An answer's decisions as shown: the permits leased on top are this caller's too (as spendLeased shows them). */
function shown(acquired: Acquired): Decision[] {
  return acquired.decisions.map((d) => ({ ...d, remaining: Math.min(d.limit ?? Number.POSITIVE_INFINITY, d.remaining + acquired.permits) }));
}

const refused = (decisions: Decision[]) => decisions.some((d) => !d.allowed);

/**
 * A request the object refused may have been refused for permits this isolate holds: a lease
 * that landed (or was asked for) while its own call was out, which no request of a burst that
 * had already asked would spend, so the burst admitted less than was left (issue 17). It takes
 * one of those instead: a live permit, as any request does (after the lease call under way, if
 * any); and permits that lapsed here unspent meanwhile, by asking again with the report that
 * gives them back, after which as many other refused requests as the object then has left for
 * ask again too. Refused requests only: an admitted request still makes at most one call.
 * Exported for its tests.
 */
export async function afterRefusal(
  env: Env,
  object: string,
  checks: LimitCheck[],
  key: string,
  tel?: Telemetry,
  parent?: Span,
): Promise<Decision[] | undefined> {
  for (let round = 0; round < 3; round++) {
    await awaitLease(key);
    const leased = spendLeased(key);
    if (leased) return leased.decisions;
    // Another call began meanwhile (a give-back among them): what it brings comes first.
    if (leaseInFlight(key)) continue;
    const { lapsed } = unspent(key);
    if (lapsed) {
      const acquired = await asLeaseCall(key, () => ask(env, object, checks, key, true, false, tel, parent));
      const decisions = shown(acquired);
      // What the object has left now, for as many other refused requests (bounded, like a lease).
      setCredit(key, refused(decisions) ? 0 : Math.min(LEASE_MAX_PERMITS, ...decisions.map((d) => d.remaining)));
      return decisions;
    }
    if (takeCredit(key)) {
      const decisions = shown(await ask(env, object, checks, key, true, false, tel, parent));
      if (refused(decisions)) setCredit(key, 0);
      return decisions;
    }
    return undefined;
  }
  return undefined;
}

/**
 * Rate limits for every /v1 call: per user or API client and per organization (with routes'
 * own policies) once a bearer token verifies, per IP address otherwise. One Durable Object
 * call decides all of them at once, and leases this isolate a few permits on top when the
 * caller is far from its limits: the next requests spend those without waiting on the object
 * (leases.ts), and a background call tops them up before they run out.
 */
export const rateLimit: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  if (!rateLimitingOn(c.env) || c.req.method === "OPTIONS") return next();
  const cfg = rateLimitConfig(c.env);
  const principal = await tryAuthenticate(c);
  const who = principal
    ? { kind: principal.kind, subject: principal.subject, organization_id: principal.organization_id }
    : { kind: "ip" as const, ip: ipLimitKey(clientIp(c.req.raw.headers, c.env.CLIENT_IP_HEADER)) };
  const { object, policies } = policiesFor(cfg, { method: c.req.method, path: c.req.path }, who);

  const checks = policies.map((p) => p.check);
  const key = leaseKey(object, checks);
  const tel = c.get("telemetry");
  const traced = tel?.recording ? tel : undefined;
  const span = traced ? traced.span("rate limit", { attributes: { "buildly.ratelimit.policies": policies.map((p) => p.name).join(",") } }) : NOOP_SPAN;
  let leased = spendLeased(key);
  if (!leased && leaseInFlight(key)) {
    // Another request of this isolate is asking for this key: its lease may cover this one too.
    await awaitLease(key);
    leased = spendLeased(key);
  }
  let decisions: Decision[];
  if (leased) {
    decisions = leased.decisions;
    if (leased.refill) c.executionCtx.waitUntil(refill(c.env, object, checks, key));
  } else
    try {
      // One call at a time may bring a lease; others in the meantime are decided one by one.
      const acquired = leaseInFlight(key)
        ? await ask(c.env, object, checks, key, true, false, traced, span)
        : await asLeaseCall(key, () => ask(c.env, object, checks, key, true, true, traced, span));
      decisions = shown(acquired);
      if (refused(decisions)) {
        // A failure here only leaves the refusal standing.
        const again = await afterRefusal(c.env, object, checks, key, traced, span).catch((err) => {
          logError(c.get("requestId"), "gateway", err instanceof ServiceCallError ? err.cause : err, { during: "rate limiting", object });
          return undefined;
        });
        if (again) decisions = again;
      }
    } catch (err) {
      logError(c.get("requestId"), "gateway", err instanceof ServiceCallError ? err.cause : err, { during: "rate limiting", object });
      const closed = policies.some((p) => p.failClosed);
      span.fail(err);
      span.end();
      if (tel?.recording)
        for (const p of policies) tel.count("buildly.ratelimit.decisions", { policy: p.name, decision: closed ? "failed_closed" : "failed_open" });
      if (closed) {
        throw new ApiError(503, "The rate limiter is unavailable; this call is not allowed without it. Retry shortly.", {
          headers: { "retry-after": "1" },
        });
      }
      return next();
    }

  if (tel?.recording) {
    span.setAttributes({ "buildly.ratelimit.leased": Boolean(leased), "buildly.ratelimit.limited": decisions.some((d) => !d.allowed) });
    span.end();
    for (const [i, p] of policies.entries())
      tel.count("buildly.ratelimit.decisions", { policy: p.name, decision: decisions[i]?.allowed ? "allowed" : "limited" });
  }
  if (refused(decisions)) {
    const retryAfter = Math.max(...decisions.filter((d) => !d.allowed).map((d) => d.retryAfter));
    // A refusing policy's `t` is when it admits again, so that it agrees with Retry-After and the
    // detail (GCRA's allowance comes back a permit at a time, not all at once at its reset).
    const h = headers(
      policies,
      decisions.map((d) => (d.allowed ? d : { ...d, reset: d.retryAfter })),
    );
    const denied = policies.filter((_, i) => !decisions[i]!.allowed);
    const named = denied.filter((p) => !p.hidden).map((p) => p.name);
    // Only the policies this request exceeded are named (a hidden one never is).
    throw new ApiError(
      429,
      named.length ? `Rate limit exceeded (${named.join(", ")}). Retry in ${retryAfter} s.` : `Too many requests. Retry in ${retryAfter} s.`,
      {
        headers: { ...h, "retry-after": String(retryAfter) },
        extensions: { exceeded: named },
      },
    );
  }
  const h = headers(policies, decisions);
  await next();
  if (h) {
    c.res.headers.set("ratelimit-policy", h["ratelimit-policy"]!);
    c.res.headers.set("ratelimit", h.ratelimit!);
  }
  await chargeServiceCalls(c, object, checks, traced);
};

/**
 * A request that made several service calls (a joined read or write, a checked reference) costs
 * one unit per call beyond its first, charged after it ran (the catalog's describe calls, shared
 * by every request of the isolate, are not counted). Charged before the answer leaves, so the
 * next request sees it; a limiter that cannot be reached only loses this charge.
 */
async function chargeServiceCalls(c: Context<GatewayEnv>, object: string, checks: LimitCheck[], tel: Telemetry | undefined): Promise<void> {
  const calls = (c.get("serviceCalls") ?? []).filter((t) => t.method !== "describe").length;
  if (calls <= 1 || !checks.length) return;
  // A child of the request's span (the `rate limit` span ended before the request ran).
  const span = tel?.span("RateLimiter charge", { kind: "client", attributes: { "buildly.ratelimit.cost": calls - 1 } });
  const trace = tel && span ? tel.traceparent(span) : undefined;
  try {
    await withDeadline("rate limiter", LIMITER_DEADLINE_MS, () =>
      trace
        ? limiter(c.env)
            .getByName(object)
            .charge(checks, calls - 1, trace)
        : limiter(c.env)
            .getByName(object)
            .charge(checks, calls - 1),
    );
  } catch (err) {
    span?.fail(err);
    logError(c.get("requestId"), "gateway", err instanceof ServiceCallError ? err.cause : err, { during: "rate limit charge", object });
  } finally {
    span?.end();
  }
}
