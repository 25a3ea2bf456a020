/**
 * The RFC 5545 recurrences appointments accept, expanded by rrule-temporal.
 *
 * A recurrence is an RRULE value, FREQ=DAILY|WEEKLY|MONTHLY|YEARLY with INTERVAL, COUNT or UNTIL,
 * BYDAY (ordinals such as 2TU or -1FR with MONTHLY and YEARLY), BYMONTHDAY, BYMONTH and BYSETPOS,
 * optionally followed by EXDATE lines ("FREQ=MONTHLY;BYDAY=-1FR\nEXDATE:20260424"). Week start is
 * Monday (RFC 5545's default WKST). There is no BYHOUR, BYMINUTE or sub-daily FREQ, so a series
 * has at most one occurrence a day.
 *
 * Expansion happens on the wall clock of the calendar's time zone, so a 09:00 meeting stays at
 * 09:00 local time across DST changes: rrule-temporal lists the wall-clock dates in a floating
 * (UTC) frame, and zoned.ts maps each to an instant (RFC 5545 3.3.5: a time in a spring gap moves
 * forward). rrule-temporal would drop an occurrence whose time falls in the gap (RFC 5545
 * 3.3.10 reads that way); this service has always kept it, moved forward, and still does.
 */
import { RRuleTemporal } from "rrule-temporal";
import { civilDate, civilDay, DAY, daysInMonth, fromLocal, toLocal } from "./zoned";

export type Freq = "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;

export interface ByDay {
  weekday: number; // 0 = Monday
  ordinal?: number; // MONTHLY: 1..5 or -5..-1; YEARLY: up to 53 (5 with BYMONTH)
}

/** UNTIL's and EXDATE's two forms: a UTC instant, or a date read on the calendar's wall clock. */
export type Until = { kind: "utc"; ms: number } | { kind: "date"; day: number };

export interface Rule {
  freq: Freq;
  interval: number;
  count?: number;
  until?: Until;
  byMonth?: number[];
  byMonthDay?: number[];
  byDay?: ByDay[];
  bySetPos?: number[];
  /** Occurrences left out: the one on that local day, or the one starting at that instant. */
  exdates?: Until[];
}

/** Unbounded (and very long) series are expanded up to this many years after their first start. */
export const HORIZON_YEARS = 2;
export const MAX_COUNT = 1000;
export const MAX_INTERVAL = 1000;
export const MAX_EXDATES = 100;

const SUPPORTED = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS"];
const FREQS: Freq[] = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];

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

/** A comma-separated list of whole numbers in ±[1, max] (no 0), each once; or the message. */
function numberList(name: string, value: string, max: number, signed: boolean, example: string): number[] | string {
  const out: number[] = [];
  for (const item of value.split(",")) {
    const text = item.trim();
    const n = /^[+-]?\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
    if (!(Math.abs(n) >= 1 && Math.abs(n) <= max) || (!signed && n < 0)) {
      return `${name} value "${item}" must be ${signed ? `1 to ${max} or -1 to -${max}` : `1 to ${max}`} (e.g. ${example}).`;
    }
    if (out.includes(n)) return `${name} lists ${n} twice.`;
    out.push(n);
  }
  return out;
}

/** The RRULE value (one line, no RRULE: prefix). */
function parseRRule(text: string): ParseResult {
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
  const freq = parts.get("FREQ") as Freq | undefined;
  if (!freq) return fail("FREQ is required.");
  if (!FREQS.includes(freq)) return fail("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.");
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
  const byMonth = parts.get("BYMONTH");
  if (byMonth !== undefined) {
    const list = numberList("BYMONTH", byMonth, 12, false, "BYMONTH=3,9");
    if (typeof list === "string") return fail(list);
    rule.byMonth = list;
  }
  const byMonthDay = parts.get("BYMONTHDAY");
  if (byMonthDay !== undefined) {
    if (freq === "WEEKLY") return fail("BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545); use MONTHLY or YEARLY.");
    const list = numberList("BYMONTHDAY", byMonthDay, 31, true, "BYMONTHDAY=15 or -1 for the last day");
    if (typeof list === "string") return fail(list);
    rule.byMonthDay = list;
  }
  const byDay = parts.get("BYDAY");
  if (byDay !== undefined) {
    // Ordinals count within the month, or with YEARLY (and no BYMONTH) within the year.
    const maxOrdinal = freq === "YEARLY" && !rule.byMonth ? 53 : 5;
    const seen = new Set<string>();
    rule.byDay = [];
    for (const item of byDay.split(",")) {
      const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item.trim());
      if (!m) return fail(`BYDAY value "${item}" is not a weekday such as MO, or for MONTHLY and YEARLY 2TU or -1FR.`);
      const weekday = WEEKDAYS.indexOf(m[2] as (typeof WEEKDAYS)[number]);
      let ordinal: number | undefined;
      if (m[1] !== undefined) {
        if (freq !== "MONTHLY" && freq !== "YEARLY") return fail("A BYDAY ordinal such as 1MO is allowed only with FREQ=MONTHLY or FREQ=YEARLY.");
        ordinal = Number(m[1]);
        if (ordinal === 0 || Math.abs(ordinal) > maxOrdinal) {
          return fail(`A BYDAY ordinal must be 1 to ${maxOrdinal} or -1 to -${maxOrdinal} here (-1FR is the last Friday).`);
        }
      }
      const key = `${ordinal ?? ""}${weekday}`;
      if (seen.has(key)) return fail(`BYDAY lists ${item} twice.`);
      seen.add(key);
      rule.byDay.push(ordinal === undefined ? { weekday } : { weekday, ordinal });
    }
  }
  const bySetPos = parts.get("BYSETPOS");
  if (bySetPos !== undefined) {
    if (!rule.byDay && !rule.byMonthDay && !rule.byMonth) {
      return fail("BYSETPOS picks from the days another BY part gives, e.g. FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1 (the last weekday).");
    }
    if (freq === "DAILY" || freq === "WEEKLY") {
      return fail("BYSETPOS needs FREQ=MONTHLY or YEARLY (within a day or a week, list the days you want in BYDAY instead).");
    }
    const list = numberList("BYSETPOS", bySetPos, 366, true, "BYSETPOS=-1 for the last");
    if (typeof list === "string") return fail(list);
    rule.bySetPos = list;
  }
  return { ok: true, rule };
}

/**
 * A recurrence: the RRULE value, then optionally lines `EXDATE:<value>[,<value>...]`, each value a
 * date (20260406, the occurrence on that day of the calendar's wall clock) or a UTC date-time
 * (20260406T080000Z, the occurrence starting then).
 */
export function parseRule(text: string): ParseResult {
  if (text.trim() === "") return fail("Give a recurrence rule such as FREQ=WEEKLY;BYDAY=MO, or null.");
  const [first, ...rest] = text.split(/\r\n|\n|\r/);
  if (/^\s*RRULE:/i.test(first!)) return fail("Give the rule's value without the RRULE: prefix.");
  if (/^\s*EXDATE/i.test(first!)) return fail("Start with the rule (FREQ=...); EXDATE lines follow it.");
  const parsed = parseRRule(first!);
  if (!parsed.ok) return parsed;
  const exdates: Until[] = [];
  const seen = new Set<string>();
  for (const line of rest) {
    if (line.trim() === "") continue;
    const m = /^\s*EXDATE\s*:(.*)$/i.exec(line);
    if (!m) return fail(`"${line.slice(0, 40)}" is not an EXDATE line: after the rule, give lines such as EXDATE:20260406,20260413T080000Z.`);
    for (const item of m[1]!.split(",")) {
      const value = item.trim().toUpperCase();
      const ex = parseUntil(value);
      if (!ex) return fail(`EXDATE value "${item}" must be a UTC date-time such as 20260406T080000Z or a date such as 20260406.`);
      if (seen.has(value)) return fail(`EXDATE lists ${value} twice.`);
      seen.add(value);
      exdates.push(ex);
    }
  }
  if (exdates.length > MAX_EXDATES) return fail(`At most ${MAX_EXDATES} EXDATE values.`);
  if (exdates.length) parsed.rule.exdates = exdates;
  return parsed;
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

function formatByDay(byDay: ByDay[]): string {
  return byDay.map((b) => `${b.ordinal ?? ""}${WEEKDAYS[b.weekday]}`).join(",");
}

/** The canonical RRULE value: FREQ, INTERVAL (when not 1), COUNT or UNTIL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS. */
export function formatRule(rule: Rule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.count !== undefined) parts.push(`COUNT=${rule.count}`);
  if (rule.until) parts.push(`UNTIL=${formatUntil(rule.until)}`);
  if (rule.byMonth?.length) parts.push(`BYMONTH=${rule.byMonth.join(",")}`);
  if (rule.byMonthDay?.length) parts.push(`BYMONTHDAY=${rule.byMonthDay.join(",")}`);
  if (rule.byDay?.length) parts.push(`BYDAY=${formatByDay(rule.byDay)}`);
  if (rule.bySetPos?.length) parts.push(`BYSETPOS=${rule.bySetPos.join(",")}`);
  return parts.join(";");
}

/** The canonical recurrence as stored and returned: the RRULE value, and one EXDATE line (values sorted) when there are any. */
export function formatRecurrence(rule: Rule): string {
  const rrule = formatRule(rule);
  if (!rule.exdates?.length) return rrule;
  return `${rrule}\nEXDATE:${rule.exdates.map(formatUntil).sort().join(",")}`;
}

/**
 * The candidate days of a rule (civil day numbers, ascending) from `firstDay` through `lastDay`,
 * for a series whose first start is at `timeOfDay` on `firstDay`: rrule-temporal expands the rule
 * on that wall-clock date-time in a floating (UTC) frame, where no day lacks the time. COUNT, UNTIL
 * and EXDATE are applied by the caller, on instants. Kept per isolate: every overlap check, window
 * and feed of a calendar expands each of its series again.
 */
const candidateCache = new Map<string, number[]>();
const MAX_CACHED_EXPANSIONS = 1024;

function candidateDays(rule: Rule, firstDay: number, timeOfDay: number, lastDay: number): number[] {
  const key = `${formatRule({ ...rule, count: undefined, until: undefined })}|${firstDay}|${timeOfDay}|${lastDay}`;
  const cached = candidateCache.get(key);
  if (cached) return cached;
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}+00:00[UTC]`;
  const floating = (ms: number) => ({ timeZoneId: "UTC", toString: () => iso(ms) });
  // With DAILY and WEEKLY, BYMONTH and BYMONTHDAY only limit the days the rest of the rule makes
  // (RFC 5545 3.3.10's table), so they filter here: rrule-temporal's general engine takes 15-160 ms
  // a series for them where its fast paths take 1-4 ms, and a calendar expands up to 200 series.
  const limits = rule.freq === "DAILY" || rule.freq === "WEEKLY";
  const expansion = new RRuleTemporal({
    freq: rule.freq,
    interval: rule.interval,
    byMonth: limits ? undefined : rule.byMonth,
    byMonthDay: limits ? undefined : rule.byMonthDay,
    byDay: rule.byDay?.map((b) => `${b.ordinal ?? ""}${WEEKDAYS[b.weekday]}`),
    bySetPos: rule.bySetPos,
    wkst: "MO",
    dtstart: floating(firstDay * DAY + timeOfDay),
    // The last candidate day bounds the work, also for a rule that never matches (BYMONTH=2;BYMONTHDAY=30).
    until: floating(lastDay * DAY + timeOfDay),
    cache: false,
  });
  const days: number[] = [];
  for (const z of expansion.all()) {
    const day = Math.floor(z.epochMilliseconds / DAY);
    if (day < firstDay || day > lastDay || day === days[days.length - 1]) continue;
    if (limits && (rule.byMonth || rule.byMonthDay)) {
      const { year, month, day: date } = civilDate(day);
      if (rule.byMonth && !rule.byMonth.includes(month)) continue;
      const length = daysInMonth(year, month);
      if (rule.byMonthDay && !rule.byMonthDay.some((d) => d === date || length + d + 1 === date)) continue;
    }
    days.push(day);
  }
  if (candidateCache.size >= MAX_CACHED_EXPANSIONS) candidateCache.delete(candidateCache.keys().next().value!);
  candidateCache.set(key, days);
  return days;
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

function excludedBy(exdates: Until[] | undefined, day: number, start: number): boolean {
  return !!exdates?.some((ex) => (ex.kind === "date" ? ex.day === day : ex.ms === start));
}

/**
 * The occurrences of a series that overlap [from, to) (all of them without a window), in order,
 * computed as they are asked for; returns whether the horizon cut the series (see Expansion).
 * The first start is always the first occurrence, at its exact instant; later ones keep its
 * local time of day on their own day, and its duration. At most one per day within the two-year
 * horizon, so at most 731 per series. COUNT counts the occurrences EXDATE leaves out (RFC 5545:
 * EXDATE takes occurrences out of the set the rule makes).
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
  for (const day of candidateDays(rule, first.day, first.timeOfDay, lastDay)) {
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
    if (overlaps(start) && !excludedBy(rule.exdates, day, start)) yield { start, end: start + duration };
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

/** The starts of the occurrences the rule's EXDATE values leave out (each names one; see seriesProblem), ascending. */
export function excludedStarts(series: Series, timeZone: string): number[] {
  const exdates = series.rule?.exdates;
  if (!exdates?.length) return [];
  const all = expand({ ...series, rule: { ...series.rule!, exdates: undefined } }, timeZone).occurrences;
  return all.filter((o) => excludedBy(exdates, toLocal(timeZone, o.start).day, o.start)).map((o) => o.start);
}

/**
 * Checks that a series is well-formed on this calendar: its first start is an occurrence of
 * its rule, UNTIL is not before it, each EXDATE names a later occurrence, and its occurrences
 * do not overlap one another. Returns the message for a 422, or null.
 */
export function seriesProblem(series: Series, timeZone: string, expanded?: Occurrence[]): string | null {
  const rule = series.rule;
  if (!rule) return null;
  if (rule.until?.kind === "utc" && rule.until.ms < series.start) return "UNTIL is before the appointment's start.";
  const first = toLocal(timeZone, series.start);
  if (rule.until?.kind === "date" && rule.until.day < first.day) return "UNTIL is before the appointment's start.";
  const firstCandidate = candidateDays(rule, first.day, first.timeOfDay, toLocal(timeZone, horizonOf(series.start)).day + 1)[0];
  if (firstCandidate !== first.day) {
    return "The start must be an occurrence of the rule (for example a Monday for BYDAY=MO), in the calendar's time zone.";
  }
  if (rule.exdates?.length) {
    const all = expand({ ...series, rule: { ...rule, exdates: undefined } }, timeZone).occurrences;
    const days = new Set(all.map((o) => toLocal(timeZone, o.start).day));
    const starts = new Set(all.map((o) => o.start));
    for (const ex of rule.exdates) {
      const hit = ex.kind === "date" ? days.has(ex.day) : starts.has(ex.ms);
      if (!hit) {
        return `EXDATE ${formatUntil(ex)} is not an occurrence of the rule within its first two years (a date is a day on the calendar's wall clock, a date-time an occurrence's exact UTC start).`;
      }
      if (ex.kind === "date" ? ex.day === first.day : ex.ms === series.start) {
        return `EXDATE ${formatUntil(ex)} is the appointment's start: move the start to the next occurrence instead.`;
      }
    }
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
