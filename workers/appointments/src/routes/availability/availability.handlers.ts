import type { RouteHandler } from "@hono/zod-openapi";
import { and, eq, gt, lt } from "drizzle-orm";
import { ApiError, type ServiceEnv } from "@buildly/shared";
import { db } from "../../db/client";
import { appointments, type WorkingHours } from "../../db/schema";
import { expand, type Occurrence } from "../../lib/rrule";
import { formatLocal, fromLocal, toLocal, weekdayOf, MINUTE } from "../../lib/zoned";
import { loadCalendar } from "../../scheduling/writes";
import { seriesOf } from "../../scheduling/series";
import { MAX_AVAILABILITY_APPOINTMENTS } from "./availability.schemas";
import type * as routes from "./availability.routes";

type E = ServiceEnv<Env>;

const DAYS: (keyof WorkingHours)[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return h! * 60 + m!;
}

/** The working intervals of [from, to) as instants, ascending and merged where they touch. */
export function workingIntervals(timeZone: string, hours: WorkingHours, from: number, to: number): Occurrence[] {
  const out: Occurrence[] = [];
  const first = toLocal(timeZone, from).day - 1;
  const last = toLocal(timeZone, to).day + 1;
  for (let day = first; day <= last; day++) {
    const intervals = [...hours[DAYS[weekdayOf(day)]!]].sort((a, b) => a.start.localeCompare(b.start));
    for (const i of intervals) {
      const start = Math.max(from, fromLocal(timeZone, day, minutesOf(i.start) * MINUTE));
      const end = Math.min(to, fromLocal(timeZone, day, minutesOf(i.end) * MINUTE));
      if (start >= end) continue;
      const prev = out[out.length - 1];
      if (prev && start <= prev.end) prev.end = Math.max(prev.end, end);
      else out.push({ start, end });
    }
  }
  return out;
}

/**
 * `free` (ascending, disjoint) minus the busy intervals (any order, may overlap). The busy ones
 * are merged into disjoint ones first, so one walk over both lists does it: a 93-day window of
 * a full calendar has some 20,000 busy intervals, and scanning them all for each free interval
 * was quadratic.
 */
export function subtract(free: Occurrence[], busy: Occurrence[]): Occurrence[] {
  const merged: Occurrence[] = [];
  for (const b of [...busy].sort((x, y) => x.start - y.start)) {
    const prev = merged[merged.length - 1];
    if (prev && b.start <= prev.end) prev.end = Math.max(prev.end, b.end);
    else merged.push({ start: b.start, end: b.end });
  }
  const out: Occurrence[] = [];
  let k = 0;
  for (const f of free) {
    while (k < merged.length && merged[k]!.end <= f.start) k++; // over for this and every later free interval
    let cursor = f.start;
    for (let b = k; b < merged.length && merged[b]!.start < f.end; b++) {
      if (merged[b]!.start > cursor) out.push({ start: cursor, end: merged[b]!.start });
      cursor = Math.max(cursor, merged[b]!.end);
    }
    if (cursor < f.end) out.push({ start: cursor, end: f.end });
  }
  return out;
}

export const get: RouteHandler<typeof routes.getAvailability, E> = async (c) => {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const calendar = await loadCalendar(c.env.DB, org, id);
  if (!calendar) throw new ApiError(404, "No calendar has this id.");
  const from = Date.parse(q.from);
  const to = Date.parse(q.to);
  const fromIso = new Date(from).toISOString();
  const toIso = new Date(to).toISOString();
  const rows = await db(c.env.DB)
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.organization_id, org),
        eq(appointments.calendar_id, id),
        eq(appointments.status, "scheduled"),
        gt(appointments.range_end, fromIso),
        lt(appointments.start_at, toIso),
      ),
    )
    .limit(MAX_AVAILABILITY_APPOINTMENTS + 1)
    .all();
  if (rows.length > MAX_AVAILABILITY_APPOINTMENTS) {
    throw new ApiError(422, "The request does not match the schema.", {
      errors: [{ path: "to", message: `The window holds more than ${MAX_AVAILABILITY_APPOINTMENTS} scheduled appointments; narrow from and to.` }],
    });
  }
  const busy = rows.flatMap((r) => expand(seriesOf(r), calendar.time_zone, { from, to }).occurrences);
  const free = subtract(workingIntervals(calendar.time_zone, calendar.working_hours, from, to), busy);
  const slots = free
    .filter((s) => s.end - s.start >= q.duration_minutes * MINUTE)
    .map((s) => ({
      start: new Date(s.start).toISOString(),
      end: new Date(s.end).toISOString(),
      local_start: formatLocal(calendar.time_zone, s.start),
      local_end: formatLocal(calendar.time_zone, s.end),
    }));
  return c.json({ calendar_id: id, time_zone: calendar.time_zone, from: fromIso, to: toIso, duration_minutes: q.duration_minutes, slots }, 200);
};
