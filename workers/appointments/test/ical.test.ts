// The iCalendar feed, read back with ical.js (a standard RFC 5545 parser, here running inside workerd).
import ICAL from "ical.js";
import { describe, expect, it } from "vitest";
import { ORG_B, serviceClient } from "@buildly/shared/test";
import { escapeText, foldLine } from "../src/lib/ical";
import { listAll, freshOrg, makeAppointment, makeCalendar, rpc } from "./helpers";

const b = serviceClient(rpc, ORG_B);
const octets = (s: string) => new TextEncoder().encode(s).length;

async function feed(client: ReturnType<typeof serviceClient>, calendarId: string) {
  const res = await client.get(`/calendars/${calendarId}/calendar.ics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
  const text = await res.text();
  const component = new ICAL.Component(ICAL.parse(text));
  return { text, component, events: component.getAllSubcomponents("vevent") };
}

/** The parts of an RRULE as ical.js writes it back, order aside. */
function ruleParts(vevent: ICAL.Component): string[] {
  return String(vevent.getFirstPropertyValue("rrule")).split(";").sort();
}

function byUid(events: ICAL.Component[], uid: string): ICAL.Component {
  const found = events.find((e) => e.getFirstPropertyValue("uid") === uid);
  if (!found) throw new Error(`no VEVENT with UID ${uid}`);
  return found;
}

/** Every occurrence start ical.js computes for a VEVENT, as ISO strings in UTC. */
function icalStarts(vevent: ICAL.Component, max = 2000): string[] {
  const event = new ICAL.Event(vevent);
  const it = event.iterator();
  const out: string[] = [];
  for (let next = it.next(); next && out.length < max; next = it.next()) {
    out.push(new Date(next.toUnixTime() * 1000).toISOString());
  }
  return out;
}

describe("iCalendar feed", () => {
  it("is valid RFC 5545 that a standard parser reads back field for field", async () => {
    const { client } = freshOrg();
    const name = 'Sales; EMEA, \\ "Tier 1"\nLondon — Zoë\'s desk';
    const cal = await makeCalendar(client, { name, time_zone: "Europe/London" });
    const title = `Review: Q3 numbers; actions, owners \\ next steps\nsecond line — naïve café ☕ ${"long ".repeat(20)}end`;
    const one = await makeAppointment(client, {
      calendar_id: cal.id,
      title,
      start: "2026-06-01T10:00:00+01:00",
      end: "2026-06-01T11:00:00+01:00",
      location: 'Room 1, Floor 2; Building "A"',
      attendees: [
        { contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", email: "ada@analytical.example", name: "Ada Lovelace" },
        { email: "grace@cobol.example", name: 'Hopper, Grace: "Amazing"' },
      ],
    });
    const cancelled = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Gone",
      start: "2026-06-02T09:00:00Z",
      end: "2026-06-02T10:00:00Z",
      status: "cancelled",
    });

    const { text, component, events } = await feed(client, cal.id);
    // CRLF everywhere, no bare CR or LF, every physical line at most 75 octets, folds start with one space.
    expect(text.endsWith("END:VCALENDAR\r\n")).toBe(true);
    expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    const physical = text.split("\r\n").slice(0, -1);
    for (const line of physical) expect(octets(line), line).toBeLessThanOrEqual(75);
    expect(physical.some((l) => l.startsWith(" "))).toBe(true);
    // Unfolded, the SUMMARY line is whole and escaped.
    const unfolded = text.replace(/\r\n /g, "");
    expect(unfolded).toContain(`SUMMARY:${title.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\n/g, "\\n")}\r\n`);

    expect(component.name).toBe("vcalendar");
    expect(component.getFirstPropertyValue("version")).toBe("2.0");
    expect(component.getFirstPropertyValue("prodid")).toBe("-//Buildly//Appointments 1.0//EN");
    // ical.js keeps the value of an X- property as written (it cannot know its type); it is TEXT, escaped.
    expect(component.getFirstPropertyValue("x-wr-calname")).toBe('Sales\\; EMEA\\, \\\\ "Tier 1"\\nLondon — Zoë\'s desk');
    expect(unfolded).toContain(`X-WR-CALNAME:${escapeText(name)}\r\n`);
    expect(component.getFirstPropertyValue("x-wr-timezone")).toBe("Europe/London");
    expect(events).toHaveLength(2);

    const ev = byUid(events, one.id);
    expect(ev.getFirstPropertyValue("summary")).toBe(title);
    expect(ev.getFirstPropertyValue("location")).toBe('Room 1, Floor 2; Building "A"');
    expect(ev.getFirstPropertyValue("status")).toBe("CONFIRMED");
    expect(ev.getFirstPropertyValue("rrule")).toBeNull();
    const dtstart = ev.getFirstProperty("dtstart")!;
    expect((dtstart.getFirstValue() as ICAL.Time).zone?.tzid).toBe("UTC");
    expect((dtstart.getFirstValue() as ICAL.Time).toUnixTime()).toBe(Date.parse("2026-06-01T09:00:00Z") / 1000);
    expect((ev.getFirstPropertyValue("dtend") as ICAL.Time).toUnixTime()).toBe(Date.parse("2026-06-01T10:00:00Z") / 1000);
    expect((ev.getFirstPropertyValue("dtstamp") as ICAL.Time).toUnixTime()).toBe(Math.floor(Date.parse(one.updated_at) / 1000));
    expect(unfolded).toContain("DTSTART:20260601T090000Z\r\n");
    const attendees = ev.getAllProperties("attendee");
    expect(attendees.map((p) => p.getFirstValue())).toEqual(["mailto:ada@analytical.example", "mailto:grace@cobol.example"]);
    expect(attendees.map((p) => p.getParameter("cn"))).toEqual(["Ada Lovelace", "Hopper, Grace: 'Amazing'"]);

    expect(byUid(events, cancelled.id).getFirstPropertyValue("status")).toBe("CANCELLED");
  });

  it("states recurring appointments with TZID, a VTIMEZONE and their RRULE, so a parser expands them exactly as the API does", async () => {
    const { client } = freshOrg();
    for (const timeZone of ["Europe/London", "America/New_York"]) {
      const cal = await makeCalendar(client, { time_zone: timeZone });
      const weekly = await makeAppointment(client, {
        calendar_id: cal.id,
        title: "Weekly",
        start: timeZone === "Europe/London" ? "2026-01-05T09:00:00Z" : "2026-01-05T14:00:00Z",
        end: timeZone === "Europe/London" ? "2026-01-05T09:30:00Z" : "2026-01-05T14:30:00Z",
        recurrence: "FREQ=WEEKLY;BYDAY=MO;COUNT=60",
      });
      const monthly = await makeAppointment(client, {
        calendar_id: cal.id,
        title: "Monthly",
        start: "2026-01-30T15:00:00Z",
        end: "2026-01-30T16:00:00Z",
        recurrence: "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231",
      });
      const open = await makeAppointment(client, {
        calendar_id: cal.id,
        title: "Open",
        start: "2026-02-03T17:00:00Z",
        end: "2026-02-03T17:15:00Z",
        recurrence: "FREQ=DAILY;INTERVAL=3",
      });
      const { text, component, events } = await feed(client, cal.id);

      const tz = component.getFirstSubcomponent("vtimezone")!;
      expect(tz.getFirstPropertyValue("tzid")).toBe(timeZone);
      expect(tz.getAllSubcomponents("daylight").length).toBeGreaterThanOrEqual(3);
      expect(tz.getAllSubcomponents("standard").length).toBeGreaterThanOrEqual(3);
      expect(text).toContain(`DTSTART;TZID=${timeZone}:`);

      const api = async (id: string) =>
        (await listAll(client, `/appointments?calendar_id=${cal.id}&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&limit=100`))
          .filter((o) => o.appointment_id === id)
          .map((o) => o.start);
      const apiNext = async (id: string) =>
        (await listAll(client, `/appointments?calendar_id=${cal.id}&from=2027-01-01T00:00:00Z&to=2028-01-01T00:00:00Z&limit=100`))
          .filter((o) => o.appointment_id === id)
          .map((o) => o.start);
      const apiLast = async (id: string) =>
        (await listAll(client, `/appointments?calendar_id=${cal.id}&from=2028-01-01T00:00:00Z&to=2028-12-31T00:00:00Z&limit=100`))
          .filter((o) => o.appointment_id === id)
          .map((o) => o.start);

      const weeklyEvent = byUid(events, weekly.id);
      expect(ruleParts(weeklyEvent)).toEqual(["BYDAY=MO", "COUNT=60", "FREQ=WEEKLY"]);
      expect(text).toContain("RRULE:FREQ=WEEKLY;COUNT=60;BYDAY=MO\r\n");
      const weeklyStarts = icalStarts(weeklyEvent);
      expect(weeklyStarts).toHaveLength(60);
      expect(weeklyStarts).toEqual([...(await api(weekly.id)), ...(await apiNext(weekly.id))]);
      // The series crosses both of the zone's 2026 changes and keeps its wall-clock time.
      expect(new Set(weeklyStarts.slice(0, 52).map((s) => s.slice(11, 16))).size).toBe(2);

      const monthlyEvent = byUid(events, monthly.id);
      // A date UNTIL becomes the UTC start of the last occurrence.
      expect(ruleParts(monthlyEvent)).toEqual(["BYDAY=-1FR", "FREQ=MONTHLY", expect.stringMatching(/^UNTIL=20261225T\d{6}Z$/)]);
      expect(icalStarts(monthlyEvent)).toEqual(await api(monthly.id));
      expect(icalStarts(monthlyEvent)).toHaveLength(12);

      // The open series is stated with UNTIL at the horizon: programs show what the API expands, no more.
      const openEvent = byUid(events, open.id);
      expect(ruleParts(openEvent)).toEqual(["FREQ=DAILY", "INTERVAL=3", expect.stringMatching(/^UNTIL=202802\d\dT\d{6}Z$/)]);
      const openStarts = icalStarts(openEvent);
      expect(openStarts).toEqual([...(await api(open.id)), ...(await apiNext(open.id)), ...(await apiLast(open.id))]);
      expect(openStarts.length).toBe(244); // every third day for two years
    }
  });

  it("folds at 75 octets without splitting a UTF-8 character, and escapes TEXT", () => {
    const line = `SUMMARY:${"é".repeat(100)}`;
    const folded = foldLine(line);
    const parts = folded.split("\r\n");
    expect(parts.length).toBeGreaterThan(2);
    for (const [i, p] of parts.entries()) {
      expect(octets(p)).toBeLessThanOrEqual(75);
      if (i > 0) expect(p.startsWith(" ")).toBe(true);
      expect(p).not.toContain("\uFFFD");
    }
    expect(parts.map((p, i) => (i ? p.slice(1) : p)).join("")).toBe(line);
    expect(foldLine("x".repeat(75))).toBe("x".repeat(75));
    expect(foldLine("x".repeat(76))).toBe(`${"x".repeat(75)}\r\n x`);
    expect(escapeText("a,b;c\\d\ne\r\nf")).toBe("a\\,b\\;c\\\\d\\ne\\nf");
  });

  it("answers 404 for a calendar of another organization or none", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    for (const res of [await b.get(`/calendars/${cal.id}/calendar.ics`), await client.get(`/calendars/${crypto.randomUUID()}/calendar.ics`)]) {
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const empty = await feed(client, cal.id);
    expect(empty.events).toEqual([]);
    expect(empty.component.getFirstSubcomponent("vtimezone")).toBeNull();
  });
});
