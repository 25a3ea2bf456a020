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
export function rangeEndOf(series: Series, timeZone: string, occurrences?: Occurrence[]): string {
  if (!series.rule) return new Date(series.end).toISOString();
  const last = occurrences ? (occurrences[occurrences.length - 1]?.end ?? series.end) : lastEnd(series, timeZone);
  return new Date(last + 2 * DAY).toISOString();
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

/**
 * Which pairs of timelines (one per appointment) are known to overlap: one bit per pair. Only
 * pairs that involve a "mover" are tracked, the first `movers` timelines (a time zone change
 * moves recurring series; one-offs keep their instants, so two one-offs never start or stop
 * overlapping). Each mover has a row over every timeline, every other timeline a row over the
 * movers; a timeline's own bit and, in the others' rows, the bits past the movers start set,
 * so a sweep never reports a timeline with itself or two one-offs.
 */
export class OverlapSet {
  readonly #movers: number;
  readonly #words: number;
  readonly #moverWords: number;
  readonly #bits: Uint32Array;

  constructor(movers: number, total: number) {
    this.#movers = movers;
    this.#words = (total + 31) >>> 5;
    this.#moverWords = (movers + 31) >>> 5;
    this.#bits = new Uint32Array(movers * this.#words + (total - movers) * this.#moverWords);
    for (let i = 0; i < movers; i++) this.#set(i, i);
    for (let i = movers; i < total; i++) {
      for (let j = movers; j < this.#moverWords * 32; j++) this.#set(i, j);
    }
  }

  #offset(i: number): number {
    return i < this.#movers ? i * this.#words : this.#movers * this.#words + (i - this.#movers) * this.#moverWords;
  }

  #set(i: number, j: number): void {
    this.#bits[this.#offset(i) + (j >>> 5)]! |= 1 << (j & 31);
  }

  /** Timeline i's row: bit j set when the pair (i, j) is known (or not tracked). */
  row(i: number): Uint32Array {
    const start = this.#offset(i);
    return this.#bits.subarray(start, start + (i < this.#movers ? this.#words : this.#moverWords));
  }

  add(i: number, j: number): void {
    this.#set(i, j);
    this.#set(j, i);
  }

  has(i: number, j: number): boolean {
    return (this.row(i)[j >>> 5]! & (1 << (j & 31))) !== 0;
  }
}

/**
 * Every pair of timelines whose occurrences overlap and that `known` does not hold yet: one sweep
 * over all occurrences in start order, reporting each new pair once, at its first overlap, and
 * adding it to `known`. Each timeline's occurrences must not overlap one another, so at most one
 * of them is active at a time. The active timelines are a bitset, so an occurrence costs one pass
 * over (its row of `known` AND NOT the active set) in 32-bit words rather than a look at every
 * active occurrence: pairs already known cost nothing however often they overlap again (200
 * daily series that all overlap were 29 million pair look-ups before).
 */
export function sweepOverlaps(
  timelines: Occurrence[][],
  known: OverlapSet,
  found: (earlier: number, earlierOcc: Occurrence, later: number, laterOcc: Occurrence) => void = () => {},
): void {
  const events: { i: number; occ: Occurrence }[] = [];
  timelines.forEach((occurrences, i) => {
    for (const occ of occurrences) events.push({ i, occ });
  });
  events.sort((a, b) => a.occ.start - b.occ.start);
  const active = new Uint32Array((timelines.length + 31) >>> 5);
  const current: (Occurrence | undefined)[] = new Array(timelines.length);
  for (const { i, occ } of events) {
    const row = known.row(i);
    for (let w = 0; w < row.length; w++) {
      let bits = active[w]! & ~row[w]!;
      while (bits !== 0) {
        const bit = bits & -bits;
        bits ^= bit;
        const j = (w << 5) + 31 - Math.clz32(bit);
        const other = current[j]!;
        if (other.end <= occ.start) {
          active[w]! &= ~bit; // ended: drop it now that it came up
          continue;
        }
        known.add(i, j);
        found(j, other, i, occ);
      }
    }
    active[i >>> 5]! |= 1 << (i & 31);
    current[i] = occ;
  }
}
