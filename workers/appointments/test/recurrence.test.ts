// The wall-clock and RRULE code on its own, run inside workerd so it uses workerd's Intl and tz data.
import { describe, expect, it } from "vitest";
import { expand, formatRecurrence, formatRule, parseRule, seriesProblem, type Rule } from "../src/lib/rrule";
import { civilDay, formatLocal, fromLocal, offsetAt, toLocal, transitions, weekdayOf, HOUR, MINUTE } from "../src/lib/zoned";

function rule(text: string): Rule {
  const parsed = parseRule(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.rule;
}

function starts(text: string, start: string, minutes: number, timeZone: string, window: { from?: string; to?: string } = {}): string[] {
  const s = Date.parse(start);
  const series = { start: s, end: s + minutes * MINUTE, rule: rule(text) };
  expect(seriesProblem(series, timeZone)).toBeNull();
  return expand(series, timeZone, {
    from: window.from ? Date.parse(window.from) : undefined,
    to: window.to ? Date.parse(window.to) : undefined,
  }).occurrences.map((o) => formatLocal(timeZone, o.start));
}

describe("wall clock in a time zone", () => {
  it("finds the 2026 DST changes of London and New York", () => {
    const year = [Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1)] as const;
    expect(transitions("Europe/London", ...year).map((t) => [new Date(t.at).toISOString(), t.from / HOUR, t.to / HOUR])).toEqual([
      ["2026-03-29T01:00:00.000Z", 0, 1],
      ["2026-10-25T01:00:00.000Z", 1, 0],
    ]);
    expect(transitions("America/New_York", ...year).map((t) => [new Date(t.at).toISOString(), t.from / HOUR, t.to / HOUR])).toEqual([
      ["2026-03-08T07:00:00.000Z", -5, -4],
      ["2026-11-01T06:00:00.000Z", -4, -5],
    ]);
    expect(transitions("Asia/Tokyo", ...year)).toEqual([]);
    expect(offsetAt("Asia/Kolkata", Date.UTC(2026, 5, 1))).toBe(5.5 * HOUR);
  });

  it("maps wall-clock times to instants, moving a time in the spring gap forward and taking the first of a repeated one", () => {
    const at = (tz: string, y: number, m: number, d: number, hhmm: string) => {
      const [h, mi] = hhmm.split(":").map(Number);
      return new Date(fromLocal(tz, civilDay(y, m, d), (h! * 60 + mi!) * MINUTE)).toISOString();
    };
    expect(at("Europe/London", 2026, 3, 28, "09:00")).toBe("2026-03-28T09:00:00.000Z");
    expect(at("Europe/London", 2026, 3, 30, "09:00")).toBe("2026-03-30T08:00:00.000Z");
    expect(at("Europe/London", 2026, 3, 29, "01:30")).toBe("2026-03-29T01:30:00.000Z"); // does not exist: 02:30 BST
    expect(at("Europe/London", 2026, 10, 25, "01:30")).toBe("2026-10-25T00:30:00.000Z"); // twice: the BST one
    expect(at("America/New_York", 2026, 3, 8, "02:30")).toBe("2026-03-08T07:30:00.000Z"); // 03:30 EDT
    expect(at("America/New_York", 2026, 11, 1, "01:30")).toBe("2026-11-01T05:30:00.000Z"); // the EDT one
    expect(at("Australia/Lord_Howe", 2026, 1, 15, "12:00")).toBe("2026-01-15T01:00:00.000Z"); // +11 in summer
    expect(formatLocal("Asia/Kathmandu", Date.UTC(2026, 0, 1))).toBe("2026-01-01T05:45:00+05:45");
    expect(formatLocal("America/St_Johns", Date.UTC(2026, 0, 1))).toBe("2025-12-31T20:30:00-03:30");
    expect(toLocal("Europe/London", Date.parse("2026-03-30T08:00:00.250Z"))).toEqual({ day: civilDay(2026, 3, 30), timeOfDay: 9 * HOUR + 250 });
    expect(weekdayOf(civilDay(2026, 3, 30))).toBe(0); // a Monday
    expect(weekdayOf(civilDay(2026, 3, 29))).toBe(6);
  });
});

describe("RRULE subset", () => {
  it("parses case-insensitively and writes a canonical form", () => {
    expect(formatRule(rule("freq=weekly;byday=mo,we;interval=1"))).toBe("FREQ=WEEKLY;BYDAY=MO,WE");
    expect(formatRule(rule("FREQ=MONTHLY;BYDAY=-1FR,+2TU;COUNT=5;INTERVAL=3"))).toBe("FREQ=MONTHLY;INTERVAL=3;COUNT=5;BYDAY=-1FR,2TU");
    expect(formatRule(rule("UNTIL=20261231T235959Z;FREQ=DAILY"))).toBe("FREQ=DAILY;UNTIL=20261231T235959Z");
    expect(formatRule(rule("FREQ=DAILY;UNTIL=20261231"))).toBe("FREQ=DAILY;UNTIL=20261231");
    // YEARLY, BYMONTH, BYMONTHDAY and BYSETPOS are part of the subset now (see "the lifted subset" below).
    expect(formatRule(rule("FREQ=YEARLY"))).toBe("FREQ=YEARLY");
    for (const bad of [
      "FREQ=HOURLY",
      "FREQ=YEARLY;BYWEEKNO=1",
      "FREQ=WEEKLY;COUNT=2;UNTIL=20260101",
      "FREQ=WEEKLY;BYSETPOS=1",
      "FREQ=DAILY;BYDAY=1MO",
      "FREQ=WEEKLY;UNTIL=20261301",
    ]) {
      expect(parseRule(bad).ok, bad).toBe(false);
    }
  });

  it("keeps a weekly 09:00 Europe/London meeting at 09:00 local across both 2026 changes", () => {
    expect(starts("FREQ=WEEKLY;BYDAY=MO", "2026-03-16T09:00:00Z", 30, "Europe/London", { to: "2026-04-07T00:00:00Z" })).toEqual([
      "2026-03-16T09:00:00+00:00",
      "2026-03-23T09:00:00+00:00",
      "2026-03-30T09:00:00+01:00",
      "2026-04-06T09:00:00+01:00",
    ]);
    expect(starts("FREQ=WEEKLY", "2026-10-19T08:00:00Z", 30, "Europe/London", { to: "2026-11-03T00:00:00Z" })).toEqual([
      "2026-10-19T09:00:00+01:00",
      "2026-10-26T09:00:00+00:00",
      "2026-11-02T09:00:00+00:00",
    ]);
  });

  it("keeps New York's clock across 8 March and 1 November 2026", () => {
    expect(starts("FREQ=DAILY;COUNT=4", "2026-03-06T14:00:00Z", 60, "America/New_York")).toEqual([
      "2026-03-06T09:00:00-05:00",
      "2026-03-07T09:00:00-05:00",
      "2026-03-08T09:00:00-04:00",
      "2026-03-09T09:00:00-04:00",
    ]);
    expect(starts("FREQ=DAILY;COUNT=3", "2026-10-31T13:00:00Z", 60, "America/New_York")).toEqual([
      "2026-10-31T09:00:00-04:00",
      "2026-11-01T09:00:00-05:00",
      "2026-11-02T09:00:00-05:00",
    ]);
  });

  it("moves a daily 01:30 London meeting to 02:30 on the day 01:30 does not exist, then back", () => {
    expect(starts("FREQ=DAILY;COUNT=3", "2026-03-28T01:30:00Z", 15, "Europe/London")).toEqual([
      "2026-03-28T01:30:00+00:00",
      "2026-03-29T02:30:00+01:00",
      "2026-03-30T01:30:00+01:00",
    ]);
  });

  it("expands DAILY with BYDAY, WEEKLY with INTERVAL and several days, MONTHLY by day and by weekday", () => {
    const tz = "UTC";
    expect(starts("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=7", "2026-06-04T09:00:00Z", 30, tz).map((s) => s.slice(0, 10))).toEqual([
      "2026-06-04",
      "2026-06-05",
      "2026-06-08",
      "2026-06-09",
      "2026-06-10",
      "2026-06-11",
      "2026-06-12",
    ]);
    expect(starts("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6", "2026-06-04T09:00:00Z", 30, tz).map((s) => s.slice(0, 10))).toEqual([
      "2026-06-04",
      "2026-06-16",
      "2026-06-18",
      "2026-06-30",
      "2026-07-02",
      "2026-07-14",
    ]);
    // The 31st: months without one are skipped (RFC 5545), not moved to the 30th.
    expect(starts("FREQ=MONTHLY;COUNT=5", "2026-01-31T09:00:00Z", 30, tz).map((s) => s.slice(0, 10))).toEqual([
      "2026-01-31",
      "2026-03-31",
      "2026-05-31",
      "2026-07-31",
      "2026-08-31",
    ]);
    expect(starts("FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", "2026-01-30T09:00:00Z", 30, tz).map((s) => s.slice(0, 10))).toEqual([
      "2026-01-30",
      "2026-02-27",
      "2026-03-27",
      "2026-04-24",
    ]);
    expect(starts("FREQ=MONTHLY;INTERVAL=2;BYDAY=1MO,3MO;COUNT=5", "2026-01-05T09:00:00Z", 30, tz).map((s) => s.slice(0, 10))).toEqual([
      "2026-01-05",
      "2026-01-19",
      "2026-03-02",
      "2026-03-16",
      "2026-05-04",
    ]);
    expect(starts("FREQ=MONTHLY;BYDAY=5SU;COUNT=3", "2026-03-29T09:00:00Z", 30, tz).map((s) => s.slice(0, 10))).toEqual([
      "2026-03-29",
      "2026-05-31",
      "2026-08-30",
    ]);
  });

  it("stops at UNTIL (inclusive, a UTC instant or a local date) and at COUNT", () => {
    expect(starts("FREQ=DAILY;UNTIL=20260603T090000Z", "2026-06-01T09:00:00Z", 30, "UTC")).toHaveLength(3);
    expect(starts("FREQ=DAILY;UNTIL=20260603T085959Z", "2026-06-01T09:00:00Z", 30, "UTC")).toHaveLength(2);
    // A date UNTIL is a day on the calendar's wall clock: 23:30 UTC on the 3rd is already the 4th in Tokyo.
    expect(starts("FREQ=DAILY;UNTIL=20260603", "2026-06-01T23:30:00Z", 30, "Asia/Tokyo")).toEqual(["2026-06-02T08:30:00+09:00", "2026-06-03T08:30:00+09:00"]);
    expect(starts("FREQ=WEEKLY;COUNT=1", "2026-06-01T09:00:00Z", 30, "UTC")).toHaveLength(1);
  });

  it("stops an open-ended series two years after its start and says it was cut", () => {
    const start = Date.parse("2026-01-05T09:00:00Z");
    const open = expand({ start, end: start + HOUR, rule: rule("FREQ=DAILY") }, "Europe/London");
    expect(open.truncated).toBe(true);
    expect(open.occurrences).toHaveLength(730);
    expect(new Date(open.occurrences.at(-1)!.start).toISOString()).toBe("2028-01-04T09:00:00.000Z");
    const counted = expand({ start, end: start + HOUR, rule: rule("FREQ=MONTHLY;COUNT=12") }, "Europe/London");
    expect([counted.truncated, counted.occurrences.length]).toEqual([false, 12]);
    const long = expand({ start, end: start + HOUR, rule: rule("FREQ=MONTHLY;COUNT=36") }, "Europe/London");
    expect([long.truncated, long.occurrences.length]).toEqual([true, 24]);
  });

  it("says when a start is not an occurrence of its rule, or a series would overlap itself", () => {
    const s = Date.parse("2026-06-01T09:00:00Z"); // a Monday
    expect(seriesProblem({ start: s, end: s + HOUR, rule: rule("FREQ=WEEKLY;BYDAY=TU") }, "UTC")).toMatch(/must be an occurrence/);
    expect(seriesProblem({ start: s, end: s + HOUR, rule: rule("FREQ=MONTHLY;BYDAY=1MO") }, "UTC")).toBeNull();
    expect(seriesProblem({ start: s, end: s + HOUR, rule: rule("FREQ=MONTHLY;BYDAY=2MO") }, "UTC")).toMatch(/must be an occurrence/);
    // Monday 00:30 in London is still Sunday in New York.
    const late = Date.parse("2026-05-31T23:30:00Z");
    expect(seriesProblem({ start: late, end: late + HOUR, rule: rule("FREQ=WEEKLY;BYDAY=MO") }, "Europe/London")).toBeNull();
    expect(seriesProblem({ start: late, end: late + HOUR, rule: rule("FREQ=WEEKLY;BYDAY=MO") }, "America/New_York")).toMatch(/must be an occurrence/);
    expect(seriesProblem({ start: s, end: s + 24 * HOUR, rule: rule("FREQ=DAILY") }, "UTC")).toBeNull(); // back to back
    expect(seriesProblem({ start: s, end: s + 25 * HOUR, rule: rule("FREQ=DAILY") }, "UTC")).toMatch(/overlap one another/);
    expect(seriesProblem({ start: s, end: s + 3 * 24 * HOUR, rule: rule("FREQ=WEEKLY;BYDAY=MO,TU") }, "UTC")).toMatch(/overlap one another/);
  });
});

// Expected dates worked out by hand from a 2026/2027 calendar; local times are the calendar's wall clock.
describe("the lifted subset: YEARLY, BYMONTH, BYMONTHDAY, BYSETPOS, ordinals and EXDATE", () => {
  it('expands "last Friday of the month" (BYDAY=-1FR) at 09:00 London across the spring change', () => {
    expect(starts("FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", "2026-01-30T09:00:00Z", 60, "Europe/London")).toEqual([
      "2026-01-30T09:00:00+00:00",
      "2026-02-27T09:00:00+00:00",
      "2026-03-27T09:00:00+00:00", // two days before the clocks go forward
      "2026-04-24T09:00:00+01:00",
    ]);
  });

  it('expands "second Tuesday" (BYDAY=2TU) at 18:00 New York across 8 March', () => {
    expect(starts("FREQ=MONTHLY;BYDAY=2TU;COUNT=4", "2026-01-13T23:00:00Z", 60, "America/New_York")).toEqual([
      "2026-01-13T18:00:00-05:00",
      "2026-02-10T18:00:00-05:00",
      "2026-03-10T18:00:00-04:00",
      "2026-04-14T18:00:00-04:00",
    ]);
  });

  it("expands BYSETPOS=-1 over the weekdays (the last working day of each month) in Berlin across 29 March", () => {
    expect(starts("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=5", "2026-01-30T16:00:00Z", 60, "Europe/Berlin")).toEqual([
      "2026-01-30T17:00:00+01:00", // Friday
      "2026-02-27T17:00:00+01:00", // Friday
      "2026-03-31T17:00:00+02:00", // Tuesday, after the change
      "2026-04-30T17:00:00+02:00", // Thursday
      "2026-05-29T17:00:00+02:00", // Friday
    ]);
    // The first and the last weekday of each month.
    expect(starts("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1;COUNT=4", "2026-03-02T08:00:00Z", 30, "UTC").map((s) => s.slice(0, 10))).toEqual([
      "2026-03-02",
      "2026-03-31",
      "2026-04-01",
      "2026-04-30",
    ]);
  });

  it("expands BYMONTHDAY (the last day of the month with -1, several days) in Tokyo and across New York's autumn change", () => {
    expect(starts("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4", "2026-01-31T00:00:00Z", 60, "Asia/Tokyo")).toEqual([
      "2026-01-31T09:00:00+09:00",
      "2026-02-28T09:00:00+09:00",
      "2026-03-31T09:00:00+09:00",
      "2026-04-30T09:00:00+09:00",
    ]);
    expect(starts("FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=4", "2026-10-15T14:00:00Z", 60, "America/New_York")).toEqual([
      "2026-10-15T10:00:00-04:00",
      "2026-11-01T10:00:00-05:00", // the morning the clocks went back
      "2026-11-15T10:00:00-05:00",
      "2026-12-01T10:00:00-05:00",
    ]);
  });

  it("keeps a monthly last-Sunday 01:30 London meeting on 29 March, moved forward out of the gap as every rule does", () => {
    expect(starts("FREQ=MONTHLY;BYDAY=-1SU;COUNT=3", "2026-01-25T01:30:00Z", 15, "Europe/London")).toEqual([
      "2026-01-25T01:30:00+00:00",
      "2026-02-22T01:30:00+00:00",
      "2026-03-29T02:30:00+01:00",
    ]);
  });

  it("expands YEARLY: on the start's date, by month and weekday ordinal, by year-wide ordinal, and limited by BYMONTH", () => {
    expect(starts("FREQ=YEARLY", "2026-07-04T16:00:00Z", 60, "America/New_York")).toEqual(["2026-07-04T12:00:00-04:00", "2027-07-04T12:00:00-04:00"]);
    // US Thanksgiving, the fourth Thursday of November: 23 November 2028 is still within two years of the start.
    expect(starts("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "2026-11-26T17:00:00Z", 60, "America/New_York")).toEqual([
      "2026-11-26T12:00:00-05:00",
      "2027-11-25T12:00:00-05:00",
      "2028-11-23T12:00:00-05:00",
    ]);
    // The last Sunday of October at 01:30 London: the first of the two 01:30s each year (29 October 2028 is past the horizon).
    expect(starts("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "2026-10-25T00:30:00Z", 30, "Europe/London")).toEqual([
      "2026-10-25T01:30:00+01:00",
      "2027-10-31T01:30:00+01:00",
    ]);
    // The 20th Monday of the year.
    expect(starts("FREQ=YEARLY;BYDAY=20MO", "2026-05-18T09:00:00Z", 60, "UTC").map((s) => s.slice(0, 10))).toEqual(["2026-05-18", "2027-05-17", "2028-05-15"]);
    // BYMONTH limits a weekly rule: December's Saturdays.
    expect(starts("FREQ=WEEKLY;BYDAY=SA;BYMONTH=12;COUNT=6", "2026-12-05T10:00:00Z", 60, "Europe/London").map((s) => s.slice(0, 10))).toEqual([
      "2026-12-05",
      "2026-12-12",
      "2026-12-19",
      "2026-12-26",
      "2027-12-04",
      "2027-12-11",
    ]);
    // BYMONTH and BYMONTHDAY limit DAILY; with YEARLY, BYMONTHDAY alone means that day of every month (RFC 5545's table).
    expect(starts("FREQ=DAILY;INTERVAL=2;BYMONTH=2;COUNT=3", "2026-02-01T09:00:00Z", 60, "UTC").map((s) => s.slice(0, 10))).toEqual([
      "2026-02-01",
      "2026-02-03",
      "2026-02-05",
    ]);
    expect(starts("FREQ=DAILY;BYMONTHDAY=1,15;COUNT=3", "2026-01-01T09:00:00Z", 60, "UTC").map((s) => s.slice(0, 10))).toEqual([
      "2026-01-01",
      "2026-01-15",
      "2026-02-01",
    ]);
    expect(starts("FREQ=DAILY;BYMONTHDAY=-1;COUNT=3", "2026-01-31T09:00:00Z", 60, "UTC").map((s) => s.slice(0, 10))).toEqual([
      "2026-01-31",
      "2026-02-28",
      "2026-03-31",
    ]);
    expect(starts("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYMONTH=3;COUNT=3", "2026-03-03T09:00:00Z", 60, "UTC").map((s) => s.slice(0, 10))).toEqual([
      "2026-03-03",
      "2026-03-17",
      "2026-03-31",
    ]);
    expect(starts("FREQ=YEARLY;BYMONTHDAY=1;COUNT=3", "2026-01-01T09:00:00Z", 60, "UTC").map((s) => s.slice(0, 10))).toEqual([
      "2026-01-01",
      "2026-02-01",
      "2026-03-01",
    ]);
    // 29 February: only leap years have one, and the next is past the two-year horizon.
    const leap = Date.parse("2028-02-29T09:00:00Z");
    const once = expand({ start: leap, end: leap + HOUR, rule: rule("FREQ=YEARLY") }, "UTC");
    expect([once.occurrences.length, once.truncated]).toEqual([1, true]);
  });

  it("leaves out EXDATE occurrences (a local date or an exact UTC start), still counting them for COUNT", () => {
    // Mondays 09:00 London from 16 March: 30 March (the first in BST) by date, 13 April by its UTC start.
    const text = "FREQ=WEEKLY;COUNT=6;BYDAY=MO\nEXDATE:20260330,20260413T080000Z";
    expect(starts(text, "2026-03-16T09:00:00Z", 30, "Europe/London")).toEqual([
      "2026-03-16T09:00:00+00:00",
      "2026-03-23T09:00:00+00:00",
      "2026-04-06T09:00:00+01:00",
      "2026-04-20T09:00:00+01:00",
    ]);
    // Canonical: one EXDATE line, values upper-case and sorted; the RRULE value alone has none.
    const parsed = rule("freq=weekly;byday=mo;count=6\r\nexdate:20260413t080000z\nEXDATE: 20260330");
    expect(formatRecurrence(parsed)).toBe(text);
    expect(formatRule(parsed)).toBe("FREQ=WEEKLY;COUNT=6;BYDAY=MO");
    expect(formatRecurrence(rule("FREQ=DAILY"))).toBe("FREQ=DAILY");
    // A date EXDATE is the calendar's day: 23:30 UTC on 2 June is 3 June in Tokyo.
    expect(starts("FREQ=DAILY;COUNT=3\nEXDATE:20260603", "2026-06-01T23:30:00Z", 30, "Asia/Tokyo")).toEqual([
      "2026-06-02T08:30:00+09:00",
      "2026-06-04T08:30:00+09:00",
    ]);
  });

  it("refuses an EXDATE that names no occurrence, or the first one", () => {
    const s = Date.parse("2026-03-16T09:00:00Z"); // Monday 09:00 GMT
    const problem = (text: string) => seriesProblem({ start: s, end: s + HOUR, rule: rule(text) }, "Europe/London");
    expect(problem("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260331")).toMatch(/EXDATE 20260331 is not an occurrence/); // a Tuesday
    // 09:00Z on 30 March is 10:00 BST: the occurrence that day starts at 08:00Z.
    expect(problem("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260330T090000Z")).toMatch(/EXDATE 20260330T090000Z is not an occurrence/);
    expect(problem("FREQ=WEEKLY;BYDAY=MO;COUNT=2\nEXDATE:20260330")).toMatch(/not an occurrence/); // past COUNT
    expect(problem("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20280320")).toMatch(/not an occurrence of the rule within its first two years/);
    expect(problem("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260316")).toMatch(/is the appointment's start/);
    expect(problem("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260316T090000Z")).toMatch(/is the appointment's start/);
    expect(problem("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260330T080000Z,20260406")).toBeNull();
  });

  it("says when a start does not fit the new rule parts, and bounds a rule that never occurs", () => {
    const s = Date.parse("2026-06-01T09:00:00Z"); // Monday 1 June
    const problem = (text: string) => seriesProblem({ start: s, end: s + HOUR, rule: rule(text) }, "UTC");
    expect(problem("FREQ=MONTHLY;BYMONTHDAY=1")).toBeNull();
    expect(problem("FREQ=MONTHLY;BYMONTHDAY=-1")).toMatch(/must be an occurrence/);
    expect(problem("FREQ=YEARLY;BYMONTH=7")).toMatch(/must be an occurrence/);
    expect(problem("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1")).toBeNull();
    expect(problem("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2")).toMatch(/must be an occurrence/);
    // 30 February never comes: refused at once, not searched for forever.
    expect(problem("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")).toMatch(/must be an occurrence/);
  });
});
