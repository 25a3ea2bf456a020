import { ApiError } from "@buildly/shared";
import type { AppointmentRow } from "../db/schema";
import { expand, lastEnd, parseRule, type Occurrence, type Series } from "../lib/rrule";
import { DAY } from "../lib/zoned";

/** The API shape of a row: no organization, no internal columns. */
export function toAppointment(row: AppointmentRow) {
  return {
    id: row.id,
    calendar_id: row.calendar_id,
    title: row.title,
    start: row.start_at,
    end: row.end_at,
    attendees: row.attendees,
    location: row.location,
    status: row.status,
    recurrence: row.recurrence,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
export type Appointment = ReturnType<typeof toAppointment>;

export function seriesOf(row: Pick<AppointmentRow, "start_at" | "end_at" | "recurrence">): Series {
  let rule = null;
  if (row.recurrence) {
    const parsed = parseRule(row.recurrence);
    if (!parsed.ok) throw new Error(`stored recurrence does not parse: ${row.recurrence}`);
    rule = parsed.rule;
  }
  return { start: Date.parse(row.start_at), end: Date.parse(row.end_at), rule };
}

/**
 * The stored upper bound on the end of a series' last occurrence. Two days of slack keep it a
 * bound if the calendar later moves to another time zone (the wall clock shifts by < 27 hours).
 */
export function rangeEndOf(series: Series, timeZone: string): string {
  if (!series.rule) return new Date(series.end).toISOString();
  return new Date(lastEnd(series, timeZone) + 2 * DAY).toISOString();
}

export interface Conflict {
  appointment_id: string;
  title: string;
  occurrence_start: string;
  occurrence_end: string;
  requested_start: string;
  requested_end: string;
}

/** The first overlap of two sorted lists of occurrences, each without overlaps of its own. */
export function firstOverlap(a: Occurrence[], b: Occurrence[]): [Occurrence, Occurrence] | undefined {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.end <= y.start) i++;
    else if (y.end <= x.start) j++;
    else return [x, y];
  }
  return undefined;
}

export const MAX_REPORTED_CONFLICTS = 10;

/** Which of `others` (scheduled, same calendar) overlap the occurrences of `requested`, earliest first. */
export function findConflicts(requested: Occurrence[], timeZone: string, others: AppointmentRow[]): Conflict[] {
  if (!requested.length) return [];
  const window = { from: requested[0]!.start, to: requested[requested.length - 1]!.end };
  const conflicts: Conflict[] = [];
  for (const other of others) {
    const theirs = expand(seriesOf(other), timeZone, window).occurrences;
    const hit = firstOverlap(requested, theirs);
    if (hit) {
      const [mine, their] = hit;
      conflicts.push({
        appointment_id: other.id,
        title: other.title,
        occurrence_start: new Date(their.start).toISOString(),
        occurrence_end: new Date(their.end).toISOString(),
        requested_start: new Date(mine.start).toISOString(),
        requested_end: new Date(mine.end).toISOString(),
      });
    }
  }
  return conflicts.sort((x, y) => x.occurrence_start.localeCompare(y.occurrence_start) || x.appointment_id.localeCompare(y.appointment_id));
}

export function conflictError(conflicts: Conflict[], what = "The appointment"): ApiError {
  const first = conflicts[0]!;
  return new ApiError(
    409,
    `${what} overlaps the scheduled appointment ${first.appointment_id} ("${first.title}") at ${first.occurrence_start}. ` +
      "Move it, or send allow_overlap: true to keep both.",
    { extensions: { conflicts: conflicts.slice(0, MAX_REPORTED_CONFLICTS) } },
  );
}

export interface Tagged extends Occurrence {
  id: string;
}

/** Every pair of distinct appointments whose occurrences overlap, keyed "idA|idB" (idA < idB). */
export function overlappingPairs(occurrences: Tagged[]): Map<string, [Tagged, Tagged]> {
  const sorted = [...occurrences].sort((a, b) => a.start - b.start);
  const pairs = new Map<string, [Tagged, Tagged]>();
  let active: Tagged[] = [];
  for (const occ of sorted) {
    active = active.filter((x) => x.end > occ.start);
    for (const x of active) {
      if (x.id === occ.id) continue;
      const key = x.id < occ.id ? `${x.id}|${occ.id}` : `${occ.id}|${x.id}`;
      if (!pairs.has(key)) pairs.set(key, [x, occ]);
    }
    active.push(occ);
  }
  return pairs;
}
