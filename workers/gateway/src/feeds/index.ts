import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError, logError, PROBLEM_CONTENT_TYPE, type RpcResult } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import { ServiceCallError, withDeadline } from "../upstream/deadline";

/**
 * Secret calendar feed URLs (issue 17): a calendar program subscribes to
 * `/v1/appointments/feeds/<token>.ics` with no bearer token. The token is 32 random bytes
 * (base64url); the gateway passes on only its SHA-256, and the appointments service finds the
 * calendar by that hash alone (organization included). Read-only; rate-limited per IP address
 * (the `calendar-feeds` route policy in RATE_LIMITS, as every anonymous call) and per URL (below).
 */
export const FEED_PATH = "/v1/appointments/feeds/{token}.ics";
const ROUTE = "/v1/appointments/feeds/:file";
const FILE = /^([A-Za-z0-9_-]{43})\.ics$/;
const ALLOW = "GET, HEAD";

/**
 * Each URL's allowance, whoever asks: generous for calendar programs (a team's devices polling
 * every few minutes), small for someone who found a URL and hammers it from many addresses.
 */
export const FEED_URL_LIMIT = { limit: 60, windowSeconds: 600 };
const LIMITER_DEADLINE_MS = 1000;

interface FeedRpc {
  calendarFeedByTokenHash(tokenHash: string): Promise<RpcResult<string>>;
}

const notFound = () => new ApiError(404, "No calendar feed has this URL.");

/** The per-URL check, on the rate limiter's Durable Object for this hash. Fails open: a feed is a read. */
async function checkUrlLimit(env: Env, hash: string, requestId: string): Promise<void> {
  let decision: { allowed: boolean; retryAfter: number; remaining: number; reset: number } | undefined;
  try {
    const acquired = await withDeadline("rate limiter", LIMITER_DEADLINE_MS, () =>
      env.RATE_LIMITER.getByName(`feed:${hash}`).acquire([{ key: "feed-url", ...FEED_URL_LIMIT }], true, { lease: false }),
    );
    decision = acquired.decisions[0];
  } catch (err) {
    logError(requestId, "gateway", err instanceof ServiceCallError ? err.cause : err, { during: "calendar feed rate limiting" });
    return;
  }
  if (decision && !decision.allowed) {
    throw new ApiError(429, `Rate limit exceeded (calendar-feed-url). Retry in ${decision.retryAfter} s.`, {
      headers: {
        "retry-after": String(decision.retryAfter),
        "ratelimit-policy": `"calendar-feed-url";q=${FEED_URL_LIMIT.limit};w=${FEED_URL_LIMIT.windowSeconds}`,
        ratelimit: `"calendar-feed-url";r=0;t=${decision.retryAfter}`,
      },
      extensions: { exceeded: ["calendar-feed-url"] },
    });
  }
}

const problem = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } };

/** Registered before the service proxy, which would otherwise ask for a bearer token. */
export function registerCalendarFeeds(app: OpenAPIHono<GatewayEnv>) {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: FEED_PATH,
    // Under the appointments prefix, named as the merged services' operations are.
    operationId: "appointments_getCalendarFeedBySecretUrl",
    summary: "A calendar's iCalendar feed at its secret URL (for calendar programs)",
    description:
      "No bearer token: the URL's secret (from `POST /v1/appointments/calendars/{id}/feed-url`) names the calendar. Read-only (GET and HEAD; " +
      `other methods 405). Rate-limited per IP address and per URL (${FEED_URL_LIMIT.limit} per ${FEED_URL_LIMIT.windowSeconds} s). ` +
      "A revoked, replaced, unknown or malformed URL answers 404, the same in every case. Answers are `private, no-store`.",
    tags: ["Platform"],
    security: [],
    request: {
      params: z.object({
        token: z
          .string()
          .regex(/^[A-Za-z0-9_-]{43}$/)
          .openapi({ description: "The URL's secret (43 base64url characters)" }),
      }),
    },
    responses: {
      200: {
        description: "The calendar as an RFC 5545 iCalendar feed (as `GET /v1/appointments/calendars/{id}/calendar.ics`)",
        content: { "text/calendar": { schema: { type: "string" } } },
      },
      404: { description: "No calendar feed has this URL", content: problem },
      405: { description: "Method not allowed on this path", content: problem },
      502: { description: "The appointments service failed to answer", content: problem },
      504: { description: "The appointments service did not answer in time", content: problem },
    },
  });

  app.all(ROUTE, async (c) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      throw new ApiError(405, `${c.req.method} is not allowed on a calendar feed. Allowed: ${ALLOW}.`, { headers: { allow: ALLOW } });
    }
    const token = FILE.exec(c.req.param("file"))?.[1];
    if (!token) throw notFound();
    // encoding.ts imports jose: loaded by the first feed request, not at start-up.
    const { sha256Hex } = await import("@buildly/shared/encoding");
    const hash = await sha256Hex(token);
    await checkUrlLimit(c.env, hash, c.get("requestId"));
    const entry = serviceRegistry(c.env).find((e) => e.name === "appointments");
    const stub = entry && (serviceBinding(c.env, entry) as unknown as FeedRpc | undefined);
    if (!entry || !stub) throw notFound();
    const result = await withDeadline(entry.name, entry.timeout_ms, () => stub.calendarFeedByTokenHash(hash));
    if (!result.ok) {
      if (result.error.status === 404) throw notFound();
      logError(c.get("requestId"), "gateway", new Error(result.error.detail ?? result.error.title), { during: "calendar feed", target: entry.name });
      throw new ApiError(502, "The appointments service failed to answer.", { extensions: { service: entry.name } });
    }
    return c.body(result.data, 200, {
      "content-type": "text/calendar; charset=utf-8",
      "content-disposition": 'inline; filename="calendar.ics"',
      "cache-control": "private, no-store",
      // The URL is the secret: never pass it on to another site.
      "referrer-policy": "no-referrer",
    });
  });
}
