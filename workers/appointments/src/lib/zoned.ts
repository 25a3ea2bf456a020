/**
 * Wall-clock arithmetic in an IANA time zone with nothing but Intl (workerd ships the tz data).
 *
 * A "civil day" is a calendar date counted in days since 1970-01-01, independent of any zone;
 * a wall-clock time is a civil day plus milliseconds since local midnight. Converting a wall-clock
 * time to an instant follows RFC 5545 section 3.3.5: a time that does not exist (the spring gap)
 * is read with the offset from before the gap, so it moves forward by the gap's length; a time that
 * happens twice (the autumn overlap) is the first of the two.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
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
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return {
    year: out.year!,
    month: out.month!,
    day: out.day!,
    hour: out.hour! % 24, // some ICU versions print midnight as 24 even with h23
    minute: out.minute!,
    second: out.second!,
  };
}

/** The offset as Intl states it (about 7 µs a call in workerd). */
function measuredOffset(timeZone: string, ms: number): number {
  const w = wallClock(timeZone, ms);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

interface YearOffsets {
  start: number;
  end: number;
  first: number;
  /** Each change: from `at` (ms, a whole second) on, `offset` applies. */
  changes: { at: number; offset: number }[];
}

/**
 * A zone's offset changes, measured once per UTC year and kept for the isolate's life: expanding
 * a two-year daily series asks for the offset some 3000 times, which through Intl alone cost
 * ~20 ms a series. The year is sampled daily (two changes within one day that cancel out would
 * be missed; tzdata has none since 1970) and each change found to the second.
 */
const offsetYears = new Map<string, YearOffsets[]>();
const MAX_CACHED_ZONES = 512;

function measureYear(timeZone: string, year: number): YearOffsets {
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  const first = measuredOffset(timeZone, start);
  const changes: YearOffsets["changes"] = [];
  let prev = first;
  for (let t = start; t < end; t += DAY) {
    const next = Math.min(t + DAY, end);
    const offset = measuredOffset(timeZone, next);
    if (offset === prev) continue;
    let lo = t;
    let hi = next; // offset(lo) = prev, offset(hi) = offset
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (measuredOffset(timeZone, mid) === prev) lo = mid;
      else hi = mid;
    }
    if (hi < end) changes.push({ at: hi, offset });
    prev = offset;
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
  const second = Math.floor(ms / 1000) * 1000;
  const { first, changes } = yearOffsets(timeZone, second);
  let offset = first;
  for (const c of changes) {
    if (c.at > second) break;
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
  const w = wallClock(timeZone, ms);
  const millis = ((ms % 1000) + 1000) % 1000;
  return { day: civilDay(w.year, w.month, w.day), timeOfDay: ((w.hour * 60 + w.minute) * 60 + w.second) * 1000 + millis };
}

/** The instant at which the wall clock in `timeZone` shows civil day `day` at `timeOfDay` ms after midnight. */
export function fromLocal(timeZone: string, day: number, timeOfDay: number): number {
  const naive = day * DAY + timeOfDay; // the wall-clock reading as if it were UTC
  const before = offsetAt(timeZone, naive - DAY);
  const after = offsetAt(timeZone, naive + DAY);
  let best: number | undefined;
  for (const offset of before === after ? [before] : [before, after]) {
    const t = naive - offset;
    if (offsetAt(timeZone, t) === offset && (best === undefined || t < best)) best = t;
  }
  // In a gap neither offset reproduces the reading: use the one from before the gap.
  return best ?? naive - before;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** RFC 3339 with the zone's offset at that instant, e.g. 2026-03-30T09:00:00+01:00. */
export function formatLocal(timeZone: string, ms: number): string {
  const w = wallClock(timeZone, ms);
  const offsetMin = Math.round(offsetAt(timeZone, ms) / MINUTE);
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function isTimeZone(tz: string): boolean {
  // Intl also takes UTC offsets such as "+01:00"; those are not IANA zone names.
  if (!/^[A-Za-z]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every change of UTC offset in [fromMs, toMs): the instant and the offsets before and after. */
export function transitions(timeZone: string, fromMs: number, toMs: number): { at: number; from: number; to: number }[] {
  const out: { at: number; from: number; to: number }[] = [];
  // Offsets change at most a few times a year and never twice within a week in practice.
  const step = 7 * DAY;
  let t = Math.floor(fromMs / 1000) * 1000;
  let prev = offsetAt(timeZone, t);
  while (t < toMs) {
    const next = Math.min(t + step, toMs);
    const o = offsetAt(timeZone, next);
    if (o !== prev) {
      let lo = t;
      let hi = next; // offset(lo) = prev, offset(hi) = o
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (offsetAt(timeZone, mid) === prev) lo = mid;
        else hi = mid;
      }
      out.push({ at: hi, from: prev, to: o });
      prev = o;
    }
    t = next;
  }
  return out;
}
