// The recurrence rules beyond DAILY/WEEKLY/MONTHLY through the API: YEARLY, BYMONTH, BYMONTHDAY,
// BYSETPOS, ordinals and EXDATE, stored canonically, expanded in windows, checked for overlaps,
// kept across time zone changes and stated in the iCalendar feed (read back with ical.js).
// Expected dates are worked out by hand from the 2026/2027 calendar.
import ICAL from "ical.js";
import { describe, expect, it } from "vitest";
import { listAll, freshOrg, makeAppointment, makeCalendar, problemPaths } from "./helpers";

type Client = ReturnType<typeof freshOrg>["client"];

async function starts(client: Client, calendarId: string, appointmentId: string, from: string, to: string): Promise<string[]> {
  const list = await listAll(client, `/appointments?calendar_id=${calendarId}&from=${from}&to=${to}&limit=100`);
  return list.filter((o) => o.appointment_id === appointmentId).map((o) => o.start);
}

describe("recurrence rules through the API", () => {
  it('stores "last Friday of the month" with EXDATE canonically and lists its occurrences without the excluded ones', async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    // 09:00 London on the last Friday: 30 January, 27 February, 27 March (GMT), 24 April (BST, excluded by date),
    // 29 May (excluded by its UTC start, 08:00Z), 26 June.
    const appt = await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-01-30T09:00:00Z",
      end: "2026-01-30T10:00:00Z",
      recurrence: "freq=monthly;byday=-1fr;count=6\r\nexdate:20260529t080000z\nexdate:20260424",
    });
    expect(appt.recurrence).toBe("FREQ=MONTHLY;COUNT=6;BYDAY=-1FR\nEXDATE:20260424,20260529T080000Z");
    expect(await (await client.get(`/appointments/${appt.id}`)).json<any>()).toMatchObject({ recurrence: appt.recurrence });
    expect(await starts(client, cal.id, appt.id, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")).toEqual([
      "2026-01-30T09:00:00.000Z",
      "2026-02-27T09:00:00.000Z",
      "2026-03-27T09:00:00.000Z",
      "2026-06-26T08:00:00.000Z",
    ]);
    // Dropping the EXDATE lines brings them back.
    const plain = await (await client.patch(`/appointments/${appt.id}`, { recurrence: "FREQ=MONTHLY;COUNT=6;BYDAY=-1FR" })).json<any>();
    expect(plain.recurrence).toBe("FREQ=MONTHLY;COUNT=6;BYDAY=-1FR");
    expect(await starts(client, cal.id, appt.id, "2026-04-01T00:00:00Z", "2026-06-01T00:00:00Z")).toEqual([
      "2026-04-24T08:00:00.000Z",
      "2026-05-29T08:00:00.000Z",
    ]);
  });

  it("expands BYSETPOS, BYMONTHDAY and YEARLY rules in New York across the 2026 changes", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "America/New_York" });
    // The last weekday of the month at 16:00 New York: Friday 27 February (EST), Tuesday 31 March, Thursday 30 April (EDT).
    const lastWeekday = await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-02-27T21:00:00Z",
      end: "2026-02-27T21:30:00Z",
      recurrence: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3",
    });
    expect(await starts(client, cal.id, lastWeekday.id, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")).toEqual([
      "2026-02-27T21:00:00.000Z",
      "2026-03-31T20:00:00.000Z",
      "2026-04-30T20:00:00.000Z",
    ]);
    // The 1st and 15th at 08:00 across 1 November.
    const twiceMonthly = await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-10-15T12:00:00Z",
      end: "2026-10-15T12:30:00Z",
      recurrence: "FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20261201",
    });
    expect(twiceMonthly.recurrence).toBe("FREQ=MONTHLY;UNTIL=20261201;BYMONTHDAY=1,15");
    expect(await starts(client, cal.id, twiceMonthly.id, "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z")).toEqual([
      "2026-10-15T12:00:00.000Z",
      "2026-11-01T13:00:00.000Z",
      "2026-11-15T13:00:00.000Z",
      "2026-12-01T13:00:00.000Z",
    ]);
    // Thanksgiving lunch, the fourth Thursday of November at 12:00.
    const thanksgiving = await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-11-26T17:00:00Z",
      end: "2026-11-26T19:00:00Z",
      recurrence: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
    });
    expect(await starts(client, cal.id, thanksgiving.id, "2026-11-01T00:00:00Z", "2027-11-01T00:00:00Z")).toEqual(["2026-11-26T17:00:00.000Z"]);
    expect(await starts(client, cal.id, thanksgiving.id, "2027-11-01T00:00:00Z", "2028-11-01T00:00:00Z")).toEqual(["2027-11-25T17:00:00.000Z"]);
  });

  it("refuses rules and EXDATEs that do not fit the appointment with 422 on recurrence", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    const post = (recurrence: string, start = "2026-06-01T09:00:00Z") =>
      client.post("/appointments", { calendar_id: cal.id, title: "Series", start, end: start.replace("09:00", "09:30"), recurrence, allow_overlap: true });
    const cases: [string, RegExp][] = [
      ["FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260602", /EXDATE 20260602 is not an occurrence/], // a Tuesday
      // The start is 10:00 BST (09:00Z), so 8 June's occurrence starts at 09:00Z, not 10:00Z.
      ["FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260608T100000Z", /EXDATE 20260608T100000Z is not an occurrence/],
      ["FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260601", /is the appointment's start/],
      ["FREQ=MONTHLY;BYDAY=2MO", /must be an occurrence/], // 1 June is the first Monday
      ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", /must be an occurrence/],
      ["FREQ=YEARLY;BYWEEKNO=23", /BYWEEKNO is not supported/],
    ];
    for (const [recurrence, message] of cases) {
      const res = await post(recurrence);
      expect(await problemPaths(res.clone()), recurrence).toEqual(["recurrence"]);
      expect((await res.json<any>()).errors[0].message, recurrence).toMatch(message);
    }
    // 09:00Z on 8 June is that occurrence's exact start, and 15 June a day with one.
    expect((await post("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260608T090000Z,20260615")).status).toBe(201);
  });

  it("frees the time of an excluded occurrence: another appointment may take it without allow_overlap", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-03-16T09:00:00Z",
      end: "2026-03-16T10:00:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260330",
    });
    // 09:00 BST on 30 March is excluded; 09:00 BST on 6 April is not.
    const free = await client.post("/appointments", { calendar_id: cal.id, title: "In the gap", start: "2026-03-30T08:15:00Z", end: "2026-03-30T08:45:00Z" });
    expect(free.status).toBe(201);
    const taken = await client.post("/appointments", { calendar_id: cal.id, title: "Clash", start: "2026-04-06T08:15:00Z", end: "2026-04-06T08:45:00Z" });
    expect(taken.status).toBe(409);
    expect((await taken.json<any>()).conflicts[0]).toMatchObject({ occurrence_start: "2026-04-06T08:00:00.000Z" });
  });

  it("keeps a date EXDATE across a time zone change, and refuses a change that leaves a UTC EXDATE naming no occurrence", async () => {
    const { client } = freshOrg();
    const byDate = await makeCalendar(client, { time_zone: "Europe/London" });
    const byInstant = await makeCalendar(client, { time_zone: "Europe/London" });
    const body = { start: "2026-03-16T09:00:00Z", end: "2026-03-16T09:30:00Z" };
    const dated = await makeAppointment(client, { calendar_id: byDate.id, ...body, recurrence: "FREQ=WEEKLY;BYDAY=MO;COUNT=4\nEXDATE:20260330" });
    const exact = await makeAppointment(client, { calendar_id: byInstant.id, ...body, recurrence: "FREQ=WEEKLY;BYDAY=MO;COUNT=4\nEXDATE:20260330T080000Z" });

    // In UTC the series stays at 09:00Z: 30 March's occurrence moves from 08:00Z to 09:00Z.
    expect((await client.patch(`/calendars/${byDate.id}`, { time_zone: "UTC" })).status).toBe(200);
    expect(await starts(client, byDate.id, dated.id, "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z")).toEqual([
      "2026-03-16T09:00:00.000Z",
      "2026-03-23T09:00:00.000Z",
      "2026-04-06T09:00:00.000Z",
    ]);
    const refused = await client.patch(`/calendars/${byInstant.id}`, { time_zone: "UTC" });
    expect(refused.status).toBe(409);
    const problem = await refused.json<any>();
    expect(problem.appointments).toEqual([
      { appointment_id: exact.id, title: "Meeting", problem: expect.stringMatching(/EXDATE 20260330T080000Z is not an occurrence/) },
    ]);
  });

  it("states EXDATE in the feed in the calendar's time, so ical.js expands exactly the API's occurrences", async () => {
    const { client } = freshOrg();
    for (const timeZone of ["Europe/London", "America/New_York"]) {
      const cal = await makeCalendar(client, { time_zone: timeZone });
      const start = timeZone === "Europe/London" ? "2026-01-30T09:00:00Z" : "2026-01-30T14:00:00Z"; // 09:00 local
      const appt = await makeAppointment(client, {
        calendar_id: cal.id,
        start,
        end: start.replace(":00:00Z", ":30:00Z"),
        // The last weekday of the month, twelve of them, without April's and October's.
        recurrence: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=12\nEXDATE:20260430,20261030",
      });
      const res = await client.get(`/calendars/${cal.id}/calendar.ics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(`EXDATE;TZID=${timeZone}:20260430T090000,20261030T090000\r\n`);
      expect(text).toContain("RRULE:FREQ=MONTHLY;COUNT=12;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1\r\n");
      const vevent = new ICAL.Component(ICAL.parse(text)).getAllSubcomponents("vevent").find((e) => e.getFirstPropertyValue("uid") === appt.id)!;
      const it = new ICAL.Event(vevent).iterator();
      const ical: string[] = [];
      for (let next = it.next(); next && ical.length < 50; next = it.next()) ical.push(new Date(next.toUnixTime() * 1000).toISOString());
      const api = await starts(client, cal.id, appt.id, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
      expect(ical).toEqual(api);
      expect(api).toHaveLength(10);
      expect(api.map((s) => s.slice(0, 10))).toEqual([
        "2026-01-30",
        "2026-02-27",
        "2026-03-31",
        "2026-05-29",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-11-30",
        "2026-12-31",
      ]);
    }
  });
});
