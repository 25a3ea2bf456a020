/**
 * The RFC 5545 RRULE subset appointments accept: FREQ=DAILY|WEEKLY|MONTHLY with INTERVAL,
 * COUNT or UNTIL, and BYDAY (with an ordinal such as 1MO or -1FR only for MONTHLY).
 * Week start is Monday (RFC 5545's default WKST). Expansion happens on the wall clock of the
 * calendar's time zone, so a 09:00 meeting stays at 09:00 local time across DST changes.
 */
import { civilDate, civilDay, daysInMonth, fromLocal, toLocal, weekdayOf, DAY } from "./zoned";

export type Freq = "DAILY" | "WEEKLY" | "MONTHLY";
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;

export interface ByDay {
  weekday: number; // 0 = Monday
  ordinal?: number; // MONTHLY only: 1..5 or -5..-1
}

export type Until = { kind: "utc"; ms: number } | { kind: "date"; day: number };

export interface Rule {
  freq: Freq;
  interval: number;
  count?: number;
  until?: Until;
  byDay?: ByDay[];
}

/** Unbounded (and very long) series are expanded up to this many years after their first start. */
export const HORIZON_YEARS = 2;
export const MAX_COUNT = 1000;
export const MAX_INTERVAL = 1000;

const SUPPORTED = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY"];

export type ParseResult = { ok: true; rule: Rule } | { ok: false; message: string };

function fail(message: string): ParseResult {
  return { ok: false, message };
}

function parseUntil(value: string): Until | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  if (m[4] === undefined) return { kind: "date", day: civilDay(y, mo, d) };
  const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return { kind: "utc", ms: Date.UTC(y, mo - 1, d, h, mi, s) };
}

function positiveInt(value: string, max: number): number | undefined {
  if (!/^\d{1,6}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= max ? n : undefined;
}

export function parseRule(text: string): ParseResult {
  if (text.trim() === "") return fail("Give a recurrence rule such as FREQ=WEEKLY;BYDAY=MO, or null.");
  if (/^RRULE:/i.test(text)) return fail("Give the rule's value without the RRULE: prefix.");
  const parts = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return fail(`"${part}" is not NAME=VALUE.`);
    const name = part.slice(0, eq).trim().toUpperCase();
    const value = part
      .slice(eq + 1)
      .trim()
      .toUpperCase();
    if (!SUPPORTED.includes(name)) return fail(`${name} is not supported; use only ${SUPPORTED.join(", ")}.`);
    if (parts.has(name)) return fail(`${name} is given twice.`);
    parts.set(name, value);
  }
  const freq = parts.get("FREQ");
  if (!freq) return fail("FREQ is required.");
  if (freq !== "DAILY" && freq !== "WEEKLY" && freq !== "MONTHLY") return fail("FREQ must be DAILY, WEEKLY or MONTHLY.");
  const rule: Rule = { freq, interval: 1 };

  const interval = parts.get("INTERVAL");
  if (interval !== undefined) {
    const n = positiveInt(interval, MAX_INTERVAL);
    if (n === undefined) return fail(`INTERVAL must be a whole number from 1 to ${MAX_INTERVAL}.`);
    rule.interval = n;
  }
  if (parts.has("COUNT") && parts.has("UNTIL")) return fail("COUNT and UNTIL cannot both be given.");
  const count = parts.get("COUNT");
  if (count !== undefined) {
    const n = positiveInt(count, MAX_COUNT);
    if (n === undefined) return fail(`COUNT must be a whole number from 1 to ${MAX_COUNT}.`);
    rule.count = n;
  }
  const until = parts.get("UNTIL");
  if (until !== undefined) {
    const u = parseUntil(until);
    if (!u) return fail("UNTIL must be a UTC date-time such as 20261231T235959Z or a date such as 20261231.");
    rule.until = u;
  }
  const byDay = parts.get("BYDAY");
  if (byDay !== undefined) {
    const seen = new Set<string>();
    rule.byDay = [];
    for (const item of byDay.split(",")) {
      const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item.trim());
      if (!m) return fail(`BYDAY value "${item}" is not a weekday such as MO, or for MONTHLY 1MO or -1FR.`);
      const weekday = WEEKDAYS.indexOf(m[2] as (typeof WEEKDAYS)[number]);
      let ordinal: number | undefined;
      if (m[1] !== undefined) {
        if (freq !== "MONTHLY") return fail("A BYDAY ordinal such as 1MO is allowed only with FREQ=MONTHLY.");
        ordinal = Number(m[1]);
        if (ordinal === 0 || Math.abs(ordinal) > 5) return fail("A BYDAY ordinal must be 1 to 5 or -1 to -5.");
      }
      const key = `${ordinal ?? ""}${weekday}`;
      if (seen.has(key)) return fail(`BYDAY lists ${item} twice.`);
      seen.add(key);
      rule.byDay.push(ordinal === undefined ? { weekday } : { weekday, ordinal });
    }
  }
  return { ok: true, rule };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

export function formatUntilUtc(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

function formatUntil(u: Until): string {
  if (u.kind === "utc") return formatUntilUtc(u.ms);
  const { year, month, day } = civilDate(u.day);
  return `${pad(year, 4)}${pad(month)}${pad(day)}`;
}

/** The canonical text of a rule: FREQ, INTERVAL (when not 1), COUNT or UNTIL, BYDAY. */
export function formatRule(rule: Rule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.count !== undefined) parts.push(`COUNT=${rule.count}`);
  if (rule.until) parts.push(`UNTIL=${formatUntil(rule.until)}`);
  if (rule.byDay?.length) parts.push(`BYDAY=${rule.byDay.map((b) => `${b.ordinal ?? ""}${WEEKDAYS[b.weekday]}`).join(",")}`);
  return parts.join(";");
}

/** The days of a month (civil day numbers, ascending) that a MONTHLY BYDAY list selects. */
function monthlyByDay(year: number, month: number, byDay: ByDay[]): number[] {
  const first = civilDay(year, month, 1);
  const length = daysInMonth(year, month);
  const days = new Set<number>();
  for (const b of byDay) {
    const firstMatch = first + ((b.weekday - weekdayOf(first) + 7) % 7);
    const matches: number[] = [];
    for (let d = firstMatch; d < first + length; d += 7) matches.push(d);
    if (b.ordinal === undefined) for (const d of matches) days.add(d);
    else {
      const d = b.ordinal > 0 ? matches[b.ordinal - 1] : matches[matches.length + b.ordinal];
      if (d !== undefined) days.add(d);
    }
  }
  return [...days].sort((x, y) => x - y);
}

/** Candidate days of the rule from the first start's day on, ascending, up to `lastDay`. */
function* candidateDays(rule: Rule, firstDay: number, lastDay: number): Generator<number> {
  const weekdays = rule.byDay ? new Set(rule.byDay.map((b) => b.weekday)) : undefined;
  if (rule.freq === "DAILY") {
    for (let day = firstDay; day <= lastDay; day += rule.interval) {
      if (!weekdays || weekdays.has(weekdayOf(day))) yield day;
    }
  } else if (rule.freq === "WEEKLY") {
    const offsets = weekdays ? [...weekdays].sort((x, y) => x - y) : [weekdayOf(firstDay)];
    for (let weekStart = firstDay - weekdayOf(firstDay); weekStart <= lastDay; weekStart += 7 * rule.interval) {
      for (const o of offsets) {
        const day = weekStart + o;
        if (day >= firstDay && day <= lastDay) yield day;
      }
    }
  } else {
    const start = civilDate(firstDay);
    for (let k = 0; ; k++) {
      const index = start.year * 12 + (start.month - 1) + k * rule.interval;
      const year = Math.floor(index / 12);
      const month = (index % 12) + 1;
      if (civilDay(year, month, 1) > lastDay) return;
      const days = rule.byDay?.length ? monthlyByDay(year, month, rule.byDay) : start.day <= daysInMonth(year, month) ? [civilDay(year, month, start.day)] : []; // RFC 5545: a month without that day (e.g. the 31st) has no occurrence
      for (const day of days) if (day >= firstDay && day <= lastDay) yield day;
    }
  }
}

export interface Occurrence {
  start: number;
  end: number;
}

export interface Series {
  start: number;
  end: number;
  rule: Rule | null;
}

export interface Expansion {
  occurrences: Occurrence[];
  /** True when the horizon cut the series off before its own COUNT or UNTIL (or it has neither). */
  truncated: boolean;
}

export function horizonOf(start: number): number {
  const d = new Date(start);
  d.setUTCFullYear(d.getUTCFullYear() + HORIZON_YEARS);
  return d.getTime();
}

/**
 * The occurrences of a series that overlap [from, to) (all of them without a window), in order,
 * computed as they are asked for; returns whether the horizon cut the series (see Expansion).
 * The first start is always the first occurrence, at its exact instant; later ones keep its
 * local time of day on their own day, and its duration. At most one per day within the two-year
 * horizon, so at most 731 per series.
 */
export function* occurrencesOf(series: Series, timeZone: string, window: { from?: number; to?: number } = {}): Generator<Occurrence, boolean> {
  const from = window.from ?? -Infinity;
  const to = window.to ?? Infinity;
  const duration = series.end - series.start;
  const overlaps = (s: number) => s < to && s + duration > from;
  if (!series.rule) {
    if (overlaps(series.start)) yield { start: series.start, end: series.end };
    return false;
  }
  const rule = series.rule;
  const horizon = horizonOf(series.start);
  const first = toLocal(timeZone, series.start);
  const lastDay = toLocal(timeZone, horizon).day + 1;
  let n = 0;
  for (const day of candidateDays(rule, first.day, lastDay)) {
    if (rule.until?.kind === "date" && day > rule.until.day) return false;
    if (rule.count !== undefined && n >= rule.count) return false;
    const isFirst = n === 0 && day === first.day;
    // No zone is a day or more from UTC, so this instant is later than the occurrence's start. When
    // even it ends before the window and neither UNTIL nor the horizon stops there, the day only
    // counts: skip the wall-clock conversion (a window late in a series would otherwise pay for
    // every day before it).
    const later = day * DAY + first.timeOfDay + DAY;
    if (!isFirst && later + duration <= from && later < horizon && !(rule.until?.kind === "utc" && later > rule.until.ms)) {
      n++;
      continue;
    }
    const start = isFirst ? series.start : fromLocal(timeZone, day, first.timeOfDay);
    if (rule.until?.kind === "utc" && start > rule.until.ms) return false;
    if (start >= horizon) return true;
    n++;
    if (start >= to) return rule.count === undefined && !rule.until; // an unbounded series always ends at the horizon
    if (overlaps(start)) yield { start, end: start + duration };
  }
  return n > 0 && rule.count === undefined && !rule.until; // unbounded: ran to lastDay
}

/** Every occurrence of `occurrencesOf`, with whether the horizon cut the series. */
export function expand(series: Series, timeZone: string, window: { from?: number; to?: number } = {}): Expansion {
  const occurrences: Occurrence[] = [];
  const it = occurrencesOf(series, timeZone, window);
  for (let step = it.next(); ; step = it.next()) {
    if (step.done) return { occurrences, truncated: step.value };
    occurrences.push(step.value);
  }
}

/**
 * Checks that a series is well-formed on this calendar: its first start is an occurrence of
 * its rule, UNTIL is not before it, and its occurrences do not overlap one another.
 * Returns the message for a 422, or null.
 */
export function seriesProblem(series: Series, timeZone: string, expanded?: Occurrence[]): string | null {
  const rule = series.rule;
  if (!rule) return null;
  if (rule.until?.kind === "utc" && rule.until.ms < series.start) return "UNTIL is before the appointment's start.";
  const first = toLocal(timeZone, series.start);
  if (rule.until?.kind === "date" && rule.until.day < first.day) return "UNTIL is before the appointment's start.";
  const firstCandidate = candidateDays(rule, first.day, first.day + 400).next();
  if (firstCandidate.done || firstCandidate.value !== first.day) {
    return "The start must be an occurrence of the rule (for example a Monday for BYDAY=MO), in the calendar's time zone.";
  }
  const occurrences = expanded ?? expand(series, timeZone).occurrences;
  for (let i = 1; i < occurrences.length; i++) {
    if (occurrences[i]!.start < occurrences[i - 1]!.end) {
      return "Occurrences of this rule would overlap one another: shorten the appointment or space the occurrences further apart.";
    }
  }
  return null;
}

/** The end of the last occurrence (within the horizon). */
export function lastEnd(series: Series, timeZone: string): number {
  const { occurrences } = expand(series, timeZone);
  return occurrences.length ? occurrences[occurrences.length - 1]!.end : series.end;
}
