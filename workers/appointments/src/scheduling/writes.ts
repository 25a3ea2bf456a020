/**
 * The writes that must not interleave within one calendar: each checks overlaps and then writes.
 * They run inside the calendar's CalendarWriter Durable Object, one at a time.
 */
import { and, eq, gt, isNotNull, lt, ne } from "drizzle-orm";
import { ApiError, newId, nowIso } from "@buildly/shared";
import { db } from "../db/client";
import { appointments, calendars, type AppointmentRow, type CalendarRow } from "../db/schema";
import { expand, formatRule, parseRule, seriesProblem, type Series } from "../lib/rrule";
import { timesProblem, type AppointmentCreate, type AppointmentUpdate } from "../routes/appointments/appointments.schemas";
import type { CalendarUpdate } from "../routes/calendars/calendars.schemas";
import { conflictError, findConflicts, MAX_REPORTED_CONFLICTS, overlappingPairs, rangeEndOf, seriesOf, type Tagged } from "./series";

function invalid(path: string, message: string): ApiError {
  return new ApiError(422, "The request does not match the schema.", { errors: [{ path, message }] });
}

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

export async function createAppointment(d1: D1Database, organizationId: string, calendarId: string, input: AppointmentCreate): Promise<AppointmentRow> {
  const calendar = await loadCalendar(d1, organizationId, calendarId);
  if (!calendar) throw invalid("calendar_id", "No calendar has this id.");
  const recurrence = input.recurrence ? formatCanonical(input.recurrence) : null;
  const series = buildSeries(input.start, input.end, recurrence, calendar.time_zone);
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
  return formatRule(parsed.rule);
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
  let recurring: AppointmentRow[] = [];
  if (newZone) {
    recurring = await client.select().from(appointments).where(and(inThisCalendar, isNotNull(appointments.recurrence))).all();
    const broken = recurring.flatMap((r) => {
      const problem = seriesProblem(seriesOf(r), newZone);
      return problem ? [{ appointment_id: r.id, title: r.title, problem }] : [];
    });
    if (broken.length) {
      throw new ApiError(
        409,
        `In ${newZone}, the recurring appointment ${broken[0]!.appointment_id} ("${broken[0]!.title}") would not fit its rule: ${broken[0]!.problem}`,
        { extensions: { appointments: broken.slice(0, MAX_REPORTED_CONFLICTS) } },
      );
    }
    if (recurring.some((r) => r.status === "scheduled")) {
      const scheduled = await client.select().from(appointments).where(and(inThisCalendar, eq(appointments.status, "scheduled"))).all();
      const occurrencesIn = (timeZone: string): Tagged[] =>
        scheduled.flatMap((r) => expand(seriesOf(r), timeZone).occurrences.map((o) => ({ ...o, id: r.id })));
      const before = overlappingPairs(occurrencesIn(current.time_zone));
      const after = overlappingPairs(occurrencesIn(newZone));
      const byId = new Map(scheduled.map((r) => [r.id, r]));
      const fresh = [...after].filter(([key]) => !before.has(key)).map(([, pair]) => pair);
      if (fresh.length) {
        const conflicts = fresh.map(([x, y]) => {
          const [mine, theirs] = byId.get(x.id)!.recurrence ? [x, y] : [y, x];
          return {
            appointment_id: theirs.id,
            title: byId.get(theirs.id)!.title,
            occurrence_start: new Date(theirs.start).toISOString(),
            occurrence_end: new Date(theirs.end).toISOString(),
            requested_start: new Date(mine.start).toISOString(),
            requested_end: new Date(mine.end).toISOString(),
          };
        });
        conflicts.sort((a, b) => a.occurrence_start.localeCompare(b.occurrence_start));
        throw conflictError(conflicts, `In ${newZone}, a recurring appointment of this calendar`);
      }
    }
  }
  const now = nowIso();
  const update = client
    .update(calendars)
    .set({ ...input, updated_at: now })
    .where(and(eq(calendars.id, calendarId), eq(calendars.organization_id, organizationId)))
    .returning();
  // A series moved out meanwhile (under another calendar's writer) has a new version: left alone.
  const bounds = recurring.map((r) =>
    client
      .update(appointments)
      .set({ range_end: rangeEndOf(seriesOf(r), newZone!), version: r.version + 1 })
      .where(and(eq(appointments.id, r.id), inThisCalendar, eq(appointments.version, r.version))),
  );
  const [rows] = await client.batch([update, ...bounds]);
  const row = (rows as CalendarRow[])[0];
  if (!row) throw new ApiError(404, "No calendar has this id.");
  return row;
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
