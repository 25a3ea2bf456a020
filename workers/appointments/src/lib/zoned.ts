/**
 * Wall-clock time in an IANA time zone, on Temporal: the one rrule-temporal uses (the runtime's own
 * where it has one, else the polyfill rrule-temporal bundles, which reads the tz data workerd ships
 * through Intl). One implementation in the bundle, not two: rrule-temporal carries its polyfill
 * inline, so a second one (temporal-polyfill) would add ~100 KiB and convert every date passed
 * between them; patches/rrule-temporal@2.2.8.patch exports it.
 *
 * A "civil day" is a calendar date counted in days since 1970-01-01, independent of any zone;
 * a wall-clock time is a civil day plus milliseconds since local midnight. Converting a wall-clock
 * time to an instant follows RFC 5545 section 3.3.5, which is Temporal's `disambiguation:
 * "compatible"`: a time that does not exist (the spring gap) moves forward by the gap's length; a
 * time that happens twice (the autumn overlap) is the first of the two.
 */
import { Temporal } from "rrule-temporal";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

function zoned(timeZone: string, ms: number): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(timeZone);
}

export interface WallClock {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock in `timeZone` at the instant `ms`, to the second. */
export function wallClock(timeZone: string, ms: number): WallClock {
  const z = zoned(timeZone, ms);
  return { year: z.year, month: z.month, day: z.day, hour: z.hour, minute: z.minute, second: z.second };
}

interface YearOffsets {
  start: number;
  end: number;
  first: number;
  /** Each change: from `at` (ms) on, `offset` applies. */
  changes: { at: number; offset: number }[];
}

/**
 * A zone's offset changes in one UTC year, as Temporal's getTimeZoneTransition lists them, kept
 * for the isolate's life. Expanding a two-year daily series asks for the offset some 3000 times
 * and an overlap check or time zone change expands up to 200 series: a Temporal conversion per
 * occurrence (~10-45 µs in workerd with the polyfill) would cost seconds, a look-up here does not.
 */
const offsetYears = new Map<string, YearOffsets[]>();
const MAX_CACHED_ZONES = 512;

function measureYear(timeZone: string, year: number): YearOffsets {
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  let z = zoned(timeZone, start);
  const first = z.offsetNanoseconds / 1e6;
  const changes: YearOffsets["changes"] = [];
  for (;;) {
    const next = z.getTimeZoneTransition("next");
    if (!next || next.epochMilliseconds >= end) break;
    changes.push({ at: next.epochMilliseconds, offset: next.offsetNanoseconds / 1e6 });
    z = next;
  }
  return { start, end, first, changes };
}

let lastZone = "";
let lastYear: YearOffsets | undefined;

function yearOffsets(timeZone: string, ms: number): YearOffsets {
  if (timeZone === lastZone && lastYear && ms >= lastYear.start && ms < lastYear.end) return lastYear;
  let years = offsetYears.get(timeZone);
  if (!years) {
    if (offsetYears.size >= MAX_CACHED_ZONES) offsetYears.clear();
    years = [];
    offsetYears.set(timeZone, years);
  }
  const year = new Date(ms).getUTCFullYear();
  const entry = (years[year] ??= measureYear(timeZone, year));
  lastZone = timeZone;
  lastYear = entry;
  return entry;
}

/** UTC offset of `timeZone` at the instant `ms`, in milliseconds (east positive). */
export function offsetAt(timeZone: string, ms: number): number {
  const { first, changes } = yearOffsets(timeZone, ms);
  let offset = first;
  for (const c of changes) {
    if (c.at > ms) break;
    offset = c.offset;
  }
  return offset;
}

/** The civil day (days since 1970-01-01) of a date. */
export function civilDay(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / DAY);
}

export function civilDate(dayNumber: number): { year: number; month: number; day: number } {
  const d = new Date(dayNumber * DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday). */
export function weekdayOf(dayNumber: number): number {
  return (((dayNumber + 3) % 7) + 7) % 7;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Local civil day and milliseconds since local midnight of the instant `ms` in `timeZone`. */
export function toLocal(timeZone: string, ms: number): { day: number; timeOfDay: number } {
  const local = ms + offsetAt(timeZone, ms);
  const day = Math.floor(local / DAY);
  return { day, timeOfDay: local - day * DAY };
}

/** The instant at which the wall clock in `timeZone` shows civil day `day` at `timeOfDay` ms after midnight. */
export function fromLocal(timeZone: string, day: number, timeOfDay: number): number {
  const naive = day * DAY + timeOfDay; // the wall-clock reading as if it were UTC
  const before = offsetAt(timeZone, naive - DAY);
  // No change of offset within a day either side: the reading happens exactly once.
  if (before === offsetAt(timeZone, naive + DAY)) return naive - before;
  // Near a change, Temporal decides (a gap or an overlap, RFC 5545 3.3.5 = "compatible").
  const d = new Date(naive);
  return Temporal.PlainDateTime.from({
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  }).toZonedDateTime(timeZone, { disambiguation: "compatible" }).epochMilliseconds;
}

/** RFC 3339 with the zone's offset at that instant, e.g. 2026-03-30T09:00:00+01:00. */
export function formatLocal(timeZone: string, ms: number): string {
  return zoned(timeZone, ms).toString({ smallestUnit: "second", timeZoneName: "never" });
}

export function isTimeZone(tz: string): boolean {
  // Temporal also takes UTC offsets such as "+01:00"; those are not IANA zone names.
  if (!/^[A-Za-z]/.test(tz)) return false;
  try {
    zoned(tz, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every change of UTC offset in (fromMs, toMs): the instant and the offsets before and after. */
export function transitions(timeZone: string, fromMs: number, toMs: number): { at: number; from: number; to: number }[] {
  const out: { at: number; from: number; to: number }[] = [];
  let z = zoned(timeZone, fromMs);
  for (;;) {
    const next = z.getTimeZoneTransition("next");
    if (!next || next.epochMilliseconds >= toMs) return out;
    out.push({ at: next.epochMilliseconds, from: z.offsetNanoseconds / 1e6, to: next.offsetNanoseconds / 1e6 });
    z = next;
  }
}
