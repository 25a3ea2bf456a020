import type { RouteHandler } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { ApiError, type ServiceEnv } from "@buildly/shared";
import { db } from "../../db/client";
import { appointments, type AppointmentRow } from "../../db/schema";
import { renderFeed, type FeedEvent } from "../../lib/ical";
import { expand } from "../../lib/rrule";
import { loadCalendar } from "../../scheduling/writes";
import { seriesOf } from "../../scheduling/series";
import type * as routes from "./feeds.routes";

type E = ServiceEnv<Env>;

/** Most events a feed holds (those with the latest starts). */
export const MAX_FEED_EVENTS = 5000;

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
    created: Date.parse(row.created_at),
    updated: Date.parse(row.updated_at),
  };
}

export const get: RouteHandler<typeof routes.getCalendarFeed, E> = async (c) => {
  const { id } = c.req.valid("param");
  const org = c.get("identity").organization_id;
  const calendar = await loadCalendar(c.env.DB, org, id);
  if (!calendar) throw new ApiError(404, "No calendar has this id.");
  const rows = await db(c.env.DB)
    .select()
    .from(appointments)
    .where(and(eq(appointments.organization_id, org), eq(appointments.calendar_id, id)))
    .orderBy(desc(appointments.start_at), desc(appointments.id))
    .limit(MAX_FEED_EVENTS)
    .all();
  rows.reverse();
  const body = renderFeed({ name: calendar.name, timeZone: calendar.time_zone, events: rows.map((r) => feedEvent(r, calendar.time_zone)) });
  return c.body(body, 200, {
    "content-type": "text/calendar; charset=utf-8",
    "content-disposition": 'inline; filename="calendar.ics"',
  });
};
