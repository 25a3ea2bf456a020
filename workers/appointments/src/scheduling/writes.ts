/**
 * The writes that must not interleave within one calendar: each checks overlaps and then writes.
 * They run inside the calendar's CalendarWriter Durable Object, one at a time.
 */
import { and, count, eq, gt, isNotNull, isNull, lt, ne } from "drizzle-orm";
import { ApiError, newId, nowIso, fieldError } from "@buildly/shared";
import { db } from "../db/client";
import { appointments, calendars, type AppointmentRow, type CalendarRow } from "../db/schema";
import { expand, formatRecurrence, parseRule, seriesProblem, type Occurrence, type Series } from "../lib/rrule";
import { timesProblem, type AppointmentCreate, type AppointmentUpdate } from "../routes/appointments/appointments.schemas";
import type { CalendarUpdate } from "../routes/calendars/calendars.schemas";
import { conflictError, findConflicts, MAX_REPORTED_CONFLICTS, OverlapSet, rangeEndOf, seriesOf, sweepOverlaps, type Conflict } from "./series";

/**
 * Most recurring appointments one calendar holds (any status). Each is expanded up to two years
 * (at most 731 occurrences) by every overlap check, time zone change, feed and availability
 * query of its calendar, so this bounds what one request can cost.
 */
export const MAX_SERIES_PER_CALENDAR = 200;

const invalid = fieldError;

export async function loadCalendar(d1: D1Database, organizationId: string, calendarId: string): Promise<CalendarRow | undefined> {
  return db(d1)
    .select()
    .from(calendars)
    .where(and(eq(calendars.id, calendarId), eq(calendars.organization_id, organizationId)))
    .get();
}

function buildSeries(start: string, end: string, recurrence: string | null, timeZone: string): Series {
  const times = timesProblem(start, end);
  if (times) throw invalid("end", times);
  let rule = null;
  if (recurrence) {
    const parsed = parseRule(recurrence);
    if (!parsed.ok) throw invalid("recurrence", parsed.message);
    rule = parsed.rule;
  }
  const series: Series = { start: Date.parse(start), end: Date.parse(end), rule };
  const problem = seriesProblem(series, timeZone);
  if (problem) throw invalid("recurrence", problem);
  return series;
}

async function assertNoConflicts(d1: D1Database, organizationId: string, calendar: CalendarRow, series: Series, excludeId: string | null) {
  const mine = expand(series, calendar.time_zone).occurrences;
  const from = new Date(mine[0]!.start).toISOString();
  const to = new Date(mine[mine.length - 1]!.end).toISOString();
  const others = await db(d1)
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.organization_id, organizationId),
        eq(appointments.calendar_id, calendar.id),
        eq(appointments.status, "scheduled"),
        gt(appointments.range_end, from),
        lt(appointments.start_at, to),
        excludeId ? ne(appointments.id, excludeId) : undefined,
      ),
    )
    .all();
  const conflicts = findConflicts(mine, calendar.time_zone, others);
  if (conflicts.length) throw conflictError(conflicts);
}

/** 422 when the calendar already holds MAX_SERIES_PER_CALENDAR series (besides `excludeId`). */
async function assertRoomForSeries(d1: D1Database, organizationId: string, calendarId: string, path: string, excludeId: string | null) {
  const row = await db(d1)
    .select({ n: count() })
    .from(appointments)
    .where(
      and(
        eq(appointments.organization_id, organizationId),
        eq(appointments.calendar_id, calendarId),
        isNotNull(appointments.recurrence),
        excludeId ? ne(appointments.id, excludeId) : undefined,
      ),
    )
    .get();
  if ((row?.n ?? 0) >= MAX_SERIES_PER_CALENDAR) {
    throw invalid(
      path,
      `A calendar holds at most ${MAX_SERIES_PER_CALENDAR} recurring appointments and this one is full: end or delete one, or use another calendar.`,
    );
  }
}

export async function createAppointment(d1: D1Database, organizationId: string, calendarId: string, input: AppointmentCreate): Promise<AppointmentRow> {
  const calendar = await loadCalendar(d1, organizationId, calendarId);
  if (!calendar) throw invalid("calendar_id", "No calendar has this id.");
  const recurrence = input.recurrence ? formatCanonical(input.recurrence) : null;
  const series = buildSeries(input.start, input.end, recurrence, calendar.time_zone);
  if (recurrence) await assertRoomForSeries(d1, organizationId, calendar.id, "recurrence", null);
  const status = input.status ?? "scheduled";
  if (status === "scheduled" && !input.allow_overlap) await assertNoConflicts(d1, organizationId, calendar, series, null);
  const now = nowIso();
  const row: AppointmentRow = {
    id: newId(),
    organization_id: organizationId,
    calendar_id: calendar.id,
    title: input.title,
    start_at: new Date(series.start).toISOString(),
    end_at: new Date(series.end).toISOString(),
    range_end: rangeEndOf(series, calendar.time_zone),
    attendees: (input.attendees ?? []).map((a) => ({ contact_id: a.contact_id ?? null, email: a.email, name: a.name })),
    location: input.location ?? null,
    status,
    recurrence,
    version: 1,
    created_at: now,
    updated_at: now,
  };
  await db(d1).insert(appointments).values(row);
  return row;
}

function formatCanonical(recurrence: string): string {
  const parsed = parseRule(recurrence);
  if (!parsed.ok) throw invalid("recurrence", parsed.message);
  return formatRecurrence(parsed.rule);
}

/** `retry`: the appointment is (now) in another calendar than the one whose lock is held. */
export type UpdateOutcome = { row: AppointmentRow } | { retry: true };

export async function updateAppointment(
  d1: D1Database,
  organizationId: string,
  lockedCalendarId: string,
  id: string,
  input: AppointmentUpdate,
): Promise<UpdateOutcome> {
  const current = await db(d1)
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, id), eq(appointments.organization_id, organizationId)))
    .get();
  if (!current) throw new ApiError(404, "No appointment has this id.");
  const targetId = input.calendar_id ?? current.calendar_id;
  if (targetId !== lockedCalendarId) return { retry: true };
  const calendar = await loadCalendar(d1, organizationId, targetId);
  if (!calendar) {
    if (input.calendar_id !== undefined) throw invalid("calendar_id", "No calendar has this id.");
    throw new ApiError(404, "No appointment has this id."); // its calendar was deleted meanwhile
  }

  const start = input.start ?? current.start_at;
  const end = input.end ?? current.end_at;
  const recurrence = input.recurrence === undefined ? current.recurrence : input.recurrence ? formatCanonical(input.recurrence) : null;
  const status = input.status ?? current.status;
  const series = buildSeries(start, end, recurrence, calendar.time_zone);
  if (recurrence && (!current.recurrence || calendar.id !== current.calendar_id)) {
    await assertRoomForSeries(
      d1,
      organizationId,
      calendar.id,
      input.calendar_id !== undefined && calendar.id !== current.calendar_id ? "calendar_id" : "recurrence",
      current.id,
    );
  }

  const moved =
    calendar.id !== current.calendar_id ||
    series.start !== Date.parse(current.start_at) ||
    series.end !== Date.parse(current.end_at) ||
    recurrence !== current.recurrence ||
    (status === "scheduled" && current.status !== "scheduled");
  if (status === "scheduled" && moved && !input.allow_overlap) {
    await assertNoConflicts(d1, organizationId, calendar, series, current.id);
  }

  const changes: Partial<AppointmentRow> = {
    calendar_id: calendar.id,
    start_at: new Date(series.start).toISOString(),
    end_at: new Date(series.end).toISOString(),
    range_end: rangeEndOf(series, calendar.time_zone),
    recurrence,
    status,
    version: current.version + 1,
    updated_at: nowIso(),
  };
  if (input.title !== undefined) changes.title = input.title;
  if (input.location !== undefined) changes.location = input.location;
  if (input.attendees !== undefined) {
    changes.attendees = input.attendees.map((a) => ({ contact_id: a.contact_id ?? null, email: a.email, name: a.name }));
  }
  // Compare-and-set: a concurrent write through another calendar's lock makes this match nothing.
  const row = await db(d1)
    .update(appointments)
    .set(changes)
    .where(and(eq(appointments.id, id), eq(appointments.organization_id, organizationId), eq(appointments.version, current.version)))
    .returning()
    .get();
  return row ? { row } : { retry: true };
}

/**
 * A calendar's time zone anchors its recurring series, so changing it moves their occurrences.
 * Refused with 409 when a series' first start would no longer be an occurrence of its rule there
 * (a Friday 23:30 UTC start is a Saturday in Tokyo), or when scheduled appointments would then
 * overlap that did not before. The series' stored range bounds are recomputed with the change.
 */
export async function updateCalendar(d1: D1Database, organizationId: string, calendarId: string, input: CalendarUpdate): Promise<CalendarRow> {
  const client = db(d1);
  const current = await loadCalendar(d1, organizationId, calendarId);
  if (!current) throw new ApiError(404, "No calendar has this id.");
  const newZone = input.time_zone !== undefined && input.time_zone !== current.time_zone ? input.time_zone : undefined;
  const inThisCalendar = and(eq(appointments.organization_id, organizationId), eq(appointments.calendar_id, calendarId));
  let recurring: { row: AppointmentRow; series: Series; occurrences: Occurrence[] }[] = [];
  if (newZone) {
    const rows = await client
      .select()
      .from(appointments)
      .where(and(inThisCalendar, isNotNull(appointments.recurrence)))
      .all();
    // Expanded once in the new zone: the rule check, the overlap check and the new range bound share it.
    recurring = rows.map((row) => {
      const series = seriesOf(row);
      return { row, series, occurrences: expand(series, newZone).occurrences };
    });
    const broken = recurring.flatMap(({ row, series, occurrences }) => {
      const problem = seriesProblem(series, newZone, occurrences);
      return problem ? [{ appointment_id: row.id, title: row.title, problem }] : [];
    });
    if (broken.length) {
      throw new ApiError(
        409,
        `In ${newZone}, the recurring appointment ${broken[0]!.appointment_id} ("${broken[0]!.title}") would not fit its rule: ${broken[0]!.problem}`,
        { extensions: { appointments: broken.slice(0, MAX_REPORTED_CONFLICTS) } },
      );
    }
    const conflicts = await newOverlaps(
      d1,
      organizationId,
      calendarId,
      current.time_zone,
      recurring.filter((r) => r.row.status === "scheduled"),
    );
    if (conflicts.length) throw conflictError(conflicts, `In ${newZone}, a recurring appointment of this calendar`);
  }
  const now = nowIso();
  const update = client
    .update(calendars)
    .set({ ...input, updated_at: now })
    .where(and(eq(calendars.id, calendarId), eq(calendars.organization_id, organizationId)))
    .returning();
  // A series moved out meanwhile (under another calendar's writer) has a new version: left alone.
  const bounds = recurring.map(({ row, series, occurrences }) =>
    client
      .update(appointments)
      .set({ range_end: rangeEndOf(series, newZone!, occurrences), version: row.version + 1 })
      .where(and(eq(appointments.id, row.id), inThisCalendar, eq(appointments.version, row.version))),
  );
  const [rows] = await client.batch([update, ...bounds]);
  const row = (rows as CalendarRow[])[0];
  if (!row) throw new ApiError(404, "No calendar has this id.");
  return row;
}

/**
 * The pairs that overlap once the scheduled series move to their new occurrences and did not
 * before (first overlap of each, earliest first). Only pairs with a series can change: one-offs
 * keep their instants, so only those within the series' span are loaded.
 */
async function newOverlaps(
  d1: D1Database,
  organizationId: string,
  calendarId: string,
  oldZone: string,
  moved: { row: AppointmentRow; series: Series; occurrences: Occurrence[] }[],
): Promise<Conflict[]> {
  if (!moved.length) return [];
  // Stored range bounds hold in any zone (see rangeEndOf), so they bound the span in both.
  // biome-ignore lint/complexity/useMathMinMax: ISO strings, compared as text (Math.min would make NaN)
  const from = moved.map((m) => m.row.start_at).reduce((a, b) => (a < b ? a : b));
  // biome-ignore lint/complexity/useMathMinMax: ISO strings, compared as text
  const to = moved.map((m) => m.row.range_end).reduce((a, b) => (a > b ? a : b));
  const oneOffs = await db(d1)
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.organization_id, organizationId),
        eq(appointments.calendar_id, calendarId),
        eq(appointments.status, "scheduled"),
        isNull(appointments.recurrence),
        gt(appointments.range_end, from),
        lt(appointments.start_at, to),
      ),
    )
    .all();
  const rows = [...moved.map((m) => m.row), ...oneOffs];
  const fixed = oneOffs.map((r) => [{ start: Date.parse(r.start_at), end: Date.parse(r.end_at) }]);
  const known = new OverlapSet(moved.length, rows.length);
  sweepOverlaps([...moved.map((m) => expand(m.series, oldZone).occurrences), ...fixed], known);
  const conflicts: Conflict[] = [];
  sweepOverlaps([...moved.map((m) => m.occurrences), ...fixed], known, (earlier, earlierOcc, later, laterOcc) => {
    // Name the other appointment; the series (the earlier one when both are) is what moved onto it.
    const [mineOcc, otherIndex, otherOcc] = earlier < moved.length ? [earlierOcc, later, laterOcc] : [laterOcc, earlier, earlierOcc];
    conflicts.push({
      appointment_id: rows[otherIndex]!.id,
      title: rows[otherIndex]!.title,
      occurrence_start: new Date(otherOcc.start).toISOString(),
      occurrence_end: new Date(otherOcc.end).toISOString(),
      requested_start: new Date(mineOcc.start).toISOString(),
      requested_end: new Date(mineOcc.end).toISOString(),
    });
  });
  return conflicts.sort((a, b) => a.occurrence_start.localeCompare(b.occurrence_start));
}

/** Deletes a calendar with its appointments, in one transaction. */
export async function deleteCalendar(d1: D1Database, organizationId: string, calendarId: string): Promise<void> {
  const client = db(d1);
  const [, deleted] = await client.batch([
    client.delete(appointments).where(and(eq(appointments.organization_id, organizationId), eq(appointments.calendar_id, calendarId))),
    client
      .delete(calendars)
      .where(and(eq(calendars.id, calendarId), eq(calendars.organization_id, organizationId)))
      .returning({ id: calendars.id }),
  ]);
  if (!deleted.length) throw new ApiError(404, "No calendar has this id.");
}
