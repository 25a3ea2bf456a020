import type { RouteHandler } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { ApiError, type ServiceEnv } from "@buildly/shared";
import { db } from "../../db/client";
import { appointments, type AppointmentRow } from "../../db/schema";
import { renderEvent, renderFeed, type FeedEvent } from "../../lib/ical";
import { excludedStarts, expand } from "../../lib/rrule";
import { appointmentsByIds } from "../../models";
import { loadCalendar } from "../../scheduling/writes";
import { seriesOf } from "../../scheduling/series";
import { feedOfTokenHash, rotateFeedToken, revokeFeedToken } from "./feed-tokens";
import type * as routes from "./feeds.routes";

type E = ServiceEnv<Env>;

const encoder = new TextEncoder();

/** Most events a feed holds (those with the latest starts). */
export const MAX_FEED_EVENTS = 5000;
/**
 * Most bytes of VEVENTs a feed holds: an appointment may carry 100 attendees (~50 KB of
 * iCalendar), so 5000 of them would be a quarter of a gigabyte in one response.
 */
export const MAX_FEED_EVENT_BYTES = 4 * 1024 * 1024;
const PAGE = 100;

/**
 * The rule as the feed states it: when the two-year horizon cut the series short, or UNTIL is a
 * date (read on the calendar's wall clock), UNTIL becomes the UTC start of the last occurrence
 * the API expands, which RFC 5545 requires with a TZID start and every program reads the same way.
 */
function feedEvent(row: AppointmentRow, timeZone: string): FeedEvent {
  const series = seriesOf(row);
  let rule = series.rule;
  if (rule) {
    const { occurrences, truncated } = expand(series, timeZone);
    if (truncated || rule.until?.kind === "date") {
      rule = { ...rule, count: undefined, until: { kind: "utc", ms: occurrences[occurrences.length - 1]!.start } };
    }
  }
  return {
    id: row.id,
    title: row.title,
    start: series.start,
    end: series.end,
    location: row.location,
    status: row.status,
    attendees: row.attendees,
    rule,
    exdates: series.rule ? excludedStarts(series, timeZone) : [],
    created: Date.parse(row.created_at),
    updated: Date.parse(row.updated_at),
  };
}

/**
 * The calendar's iCalendar text, or undefined when the organization has no such calendar.
 * Shared by the API route and the secret feed URL (feed-tokens.ts).
 */
export async function renderCalendarFeed(d1: D1Database, org: string, id: string): Promise<string | undefined> {
  const calendar = await loadCalendar(d1, org, id);
  if (!calendar) return undefined;
  // The ids first (small rows), then the appointments a page at a time, latest start first,
  // until the event or byte budget is spent: the rows themselves can be ~50 KB each.
  const ids = await db(d1)
    .select({ id: appointments.id })
    .from(appointments)
    .where(and(eq(appointments.organization_id, org), eq(appointments.calendar_id, id)))
    .orderBy(desc(appointments.start_at), desc(appointments.id))
    .limit(MAX_FEED_EVENTS)
    .all();
  const events: FeedEvent[] = [];
  const rendered: string[] = [];
  let bytes = 0;
  fill: for (let i = 0; i < ids.length; i += PAGE) {
    const pageIds = ids.slice(i, i + PAGE).map((r) => r.id);
    const byId = new Map((await appointmentsByIds(d1, org, pageIds).all()).map((r) => [r.id, r]));
    for (const rowId of pageIds) {
      const row = byId.get(rowId);
      if (!row) continue; // deleted meanwhile
      const event = feedEvent(row, calendar.time_zone);
      const text = renderEvent(event, calendar.time_zone);
      bytes += encoder.encode(text).length;
      if (bytes > MAX_FEED_EVENT_BYTES) break fill;
      events.push(event);
      rendered.push(text);
    }
  }
  events.reverse();
  rendered.reverse();
  return renderFeed({ name: calendar.name, timeZone: calendar.time_zone, events }, rendered);
}

/** The feed a secret URL's token hash names (feed-tokens.ts), or undefined. */
export async function feedForTokenHash(d1: D1Database, tokenHash: string): Promise<string | undefined> {
  const feed = await feedOfTokenHash(d1, tokenHash);
  return feed ? renderCalendarFeed(d1, feed.organization_id, feed.calendar_id) : undefined;
}

export const FEED_HEADERS = {
  "content-type": "text/calendar; charset=utf-8",
  "content-disposition": 'inline; filename="calendar.ics"',
};

export const get: RouteHandler<typeof routes.getCalendarFeed, E> = async (c) => {
  const { id } = c.req.valid("param");
  const body = await renderCalendarFeed(c.env.DB, c.get("identity").organization_id, id);
  if (body === undefined) throw new ApiError(404, "No calendar has this id.");
  return c.body(body, 200, FEED_HEADERS);
};

export const rotate: RouteHandler<typeof routes.rotateCalendarFeedUrl, E> = async (c) => {
  const { id } = c.req.valid("param");
  const made = await rotateFeedToken(c.env.DB, c.get("identity").organization_id, id);
  if (!made) throw new ApiError(404, "No calendar has this id.");
  // Behind the gateway, the path the client uses (its /v1/appointments prefix).
  const prefix = c.req.header("x-forwarded-prefix") ?? "/v1/appointments";
  return c.json({ calendar_id: id, token: made.token, path: `${prefix}/feeds/${made.token}.ics`, created_at: made.created_at }, 201, {
    "cache-control": "no-store",
  });
};

export const revoke: RouteHandler<typeof routes.revokeCalendarFeedUrl, E> = async (c) => {
  const { id } = c.req.valid("param");
  if (!(await revokeFeedToken(c.env.DB, c.get("identity").organization_id, id))) throw new ApiError(404, "No calendar has this id.");
  return c.body(null, 204);
};
