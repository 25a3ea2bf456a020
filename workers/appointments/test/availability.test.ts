import { describe, expect, it } from "vitest";
import { ORG_A, ORG_B, serviceClient } from "@buildly/shared/test";
import { freshOrg, makeAppointment, makeCalendar, problemPaths, rpc } from "./helpers";

const a = serviceClient(rpc, ORG_A);
const b = serviceClient(rpc, ORG_B);

const h = (start: string, end: string) => ({ start, end });
// The demo calendars' working hours.
const SALES = {
  mon: [h("09:00", "17:00")],
  tue: [h("09:00", "17:00")],
  wed: [h("09:00", "17:00")],
  thu: [h("09:00", "17:00")],
  fri: [h("09:00", "15:00")],
  sat: [],
  sun: [],
};
const SUPPORT = {
  mon: [h("08:00", "12:00"), h("13:00", "18:00")],
  tue: [h("08:00", "18:00")],
  wed: [h("08:00", "18:00")],
  thu: [h("08:00", "18:00")],
  fri: [h("08:00", "16:00")],
  sat: [],
  sun: [],
};

type Slot = { start: string; end: string; local_start: string; local_end: string };

async function slots(client: ReturnType<typeof serviceClient>, calendarId: string, from: string, to: string, duration = 30): Promise<Slot[]> {
  const res = await client.get(
    `/calendars/${calendarId}/availability?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&duration_minutes=${duration}`,
  );
  expect(res.status).toBe(200);
  const body = await res.json<any>();
  expect(body).toMatchObject({ calendar_id: calendarId, duration_minutes: duration, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  return body.slots;
}

const onDay = (list: Slot[], day: string) => list.filter((s) => s.local_start.startsWith(day)).map((s) => [s.start, s.end, s.local_start, s.local_end]);

describe("availability", () => {
  it("follows London's and New York's spring changes in one window (8 and 29 March 2026)", async () => {
    const { client } = freshOrg();
    const london = await makeCalendar(client, { time_zone: "Europe/London", working_hours: SALES });
    const ny = await makeCalendar(client, { name: "Support desk", time_zone: "America/New_York", working_hours: SUPPORT });
    const from = "2026-03-06T00:00:00Z";
    const to = "2026-04-01T00:00:00Z";

    const l = await slots(client, london.id, from, to);
    expect(l).toHaveLength(18); // one per weekday from Friday 6 to Tuesday 31 March
    expect(onDay(l, "2026-03-27")).toEqual([
      ["2026-03-27T09:00:00.000Z", "2026-03-27T15:00:00.000Z", "2026-03-27T09:00:00+00:00", "2026-03-27T15:00:00+00:00"],
    ]);
    expect(onDay(l, "2026-03-28")).toEqual([]);
    expect(onDay(l, "2026-03-30")).toEqual([
      ["2026-03-30T08:00:00.000Z", "2026-03-30T16:00:00.000Z", "2026-03-30T09:00:00+01:00", "2026-03-30T17:00:00+01:00"],
    ]);

    const n = await slots(client, ny.id, from, to);
    expect(n).toHaveLength(18 + 4); // Mondays have two intervals (lunch), four Mondays
    expect(onDay(n, "2026-03-06")).toEqual([
      ["2026-03-06T13:00:00.000Z", "2026-03-06T21:00:00.000Z", "2026-03-06T08:00:00-05:00", "2026-03-06T16:00:00-05:00"],
    ]);
    expect(onDay(n, "2026-03-09")).toEqual([
      ["2026-03-09T12:00:00.000Z", "2026-03-09T16:00:00.000Z", "2026-03-09T08:00:00-04:00", "2026-03-09T12:00:00-04:00"],
      ["2026-03-09T17:00:00.000Z", "2026-03-09T22:00:00.000Z", "2026-03-09T13:00:00-04:00", "2026-03-09T18:00:00-04:00"],
    ]);
    // Between the two changes the cities are four hours apart, not five.
    expect(onDay(n, "2026-03-20")[0]![0]).toBe("2026-03-20T12:00:00.000Z");
    expect(onDay(l, "2026-03-20")[0]![0]).toBe("2026-03-20T09:00:00.000Z");
  });

  it("follows the autumn changes (25 October London, 1 November New York)", async () => {
    const { client } = freshOrg();
    const london = await makeCalendar(client, { time_zone: "Europe/London", working_hours: SALES });
    const ny = await makeCalendar(client, { time_zone: "America/New_York", working_hours: SUPPORT });
    const from = "2026-10-23T00:00:00Z";
    const to = "2026-11-04T00:00:00Z";
    const l = await slots(client, london.id, from, to);
    expect(onDay(l, "2026-10-23")).toEqual([
      ["2026-10-23T08:00:00.000Z", "2026-10-23T14:00:00.000Z", "2026-10-23T09:00:00+01:00", "2026-10-23T15:00:00+01:00"],
    ]);
    expect(onDay(l, "2026-10-26")).toEqual([
      ["2026-10-26T09:00:00.000Z", "2026-10-26T17:00:00.000Z", "2026-10-26T09:00:00+00:00", "2026-10-26T17:00:00+00:00"],
    ]);
    const n = await slots(client, ny.id, from, to);
    expect(onDay(n, "2026-10-30")).toEqual([
      ["2026-10-30T12:00:00.000Z", "2026-10-30T20:00:00.000Z", "2026-10-30T08:00:00-04:00", "2026-10-30T16:00:00-04:00"],
    ]);
    expect(onDay(n, "2026-11-02")).toEqual([
      ["2026-11-02T13:00:00.000Z", "2026-11-02T17:00:00.000Z", "2026-11-02T08:00:00-05:00", "2026-11-02T12:00:00-05:00"],
      ["2026-11-02T18:00:00.000Z", "2026-11-02T23:00:00.000Z", "2026-11-02T13:00:00-05:00", "2026-11-02T18:00:00-05:00"],
    ]);
  });

  it("reads working hours that fall in the spring gap or the autumn overlap on the wall clock", async () => {
    const { client } = freshOrg();
    const night = { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [h("01:00", "03:00")] };
    const cal = await makeCalendar(client, { time_zone: "Europe/London", working_hours: night });
    // 29 March: 01:00 does not exist (it is 02:00 BST); 03:00 BST is 02:00 UTC: one hour of work.
    expect(await slots(client, cal.id, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z")).toEqual([
      { start: "2026-03-29T01:00:00.000Z", end: "2026-03-29T02:00:00.000Z", local_start: "2026-03-29T02:00:00+01:00", local_end: "2026-03-29T03:00:00+01:00" },
    ]);
    // 25 October: from the first 01:00 (BST) to 03:00 GMT: three hours.
    expect(await slots(client, cal.id, "2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z")).toEqual([
      { start: "2026-10-25T00:00:00.000Z", end: "2026-10-25T03:00:00.000Z", local_start: "2026-10-25T01:00:00+01:00", local_end: "2026-10-25T03:00:00+00:00" },
    ]);
  });

  it("takes out scheduled appointments (recurring ones on the wall clock) and keeps only slots long enough", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London", working_hours: SALES });
    // Mondays 10:00-11:00 London time.
    await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Weekly",
      start: "2026-03-23T10:00:00Z",
      end: "2026-03-23T11:00:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    });
    await makeAppointment(client, { calendar_id: cal.id, title: "Cancelled", start: "2026-03-30T13:00:00Z", end: "2026-03-30T14:00:00Z", status: "cancelled" });
    await makeAppointment(client, { calendar_id: cal.id, title: "Lunch", start: "2026-03-30T12:00:00+01:00", end: "2026-03-30T12:20:00+01:00" });
    const from = "2026-03-23T00:00:00Z";
    const to = "2026-03-31T00:00:00Z";
    const half = await slots(client, cal.id, from, to, 30);
    expect(onDay(half, "2026-03-23").map((s) => [s[2], s[3]])).toEqual([
      ["2026-03-23T09:00:00+00:00", "2026-03-23T10:00:00+00:00"],
      ["2026-03-23T11:00:00+00:00", "2026-03-23T17:00:00+00:00"],
    ]);
    expect(onDay(half, "2026-03-30").map((s) => [s[2], s[3]])).toEqual([
      ["2026-03-30T09:00:00+01:00", "2026-03-30T10:00:00+01:00"],
      ["2026-03-30T11:00:00+01:00", "2026-03-30T12:00:00+01:00"],
      ["2026-03-30T12:20:00+01:00", "2026-03-30T17:00:00+01:00"],
    ]);
    const long = await slots(client, cal.id, from, to, 90);
    expect(onDay(long, "2026-03-30").map((s) => [s[2], s[3]])).toEqual([["2026-03-30T12:20:00+01:00", "2026-03-30T17:00:00+01:00"]]);
    expect(onDay(long, "2026-03-24")).toHaveLength(1);
    expect(await slots(client, cal.id, from, to, 481)).toEqual([]); // no working day is longer than 8 hours
  });

  it("clips slots to the window", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "UTC" });
    expect((await slots(client, cal.id, "2026-06-01T12:00:00Z", "2026-06-01T13:30:00Z")).map((s) => [s.start, s.end])).toEqual([
      ["2026-06-01T12:00:00.000Z", "2026-06-01T13:30:00.000Z"],
    ]);
    expect(await slots(client, cal.id, "2026-06-01T12:00:00Z", "2026-06-01T12:10:00Z")).toEqual([]);
  });

  it("validates the query and hides other organizations' calendars", async () => {
    const cal = await makeCalendar(a);
    const base = `/calendars/${cal.id}/availability`;
    for (const [q, path] of [
      ["to=2026-06-02T00:00:00Z", "query.from"],
      ["from=2026-06-01T00:00:00Z", "query.to"],
      ["from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z", "query.to"],
      ["from=2026-06-01T00:00:00Z&to=2026-09-02T00:00:01Z", "query.to"],
      ["from=2026-06-01&to=2026-06-02T00:00:00Z", "query.from"],
      ["from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z&duration_minutes=0", "query.duration_minutes"],
      ["from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z&duration_minutes=1441", "query.duration_minutes"],
      ["from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z&duration_minutes=half", "query.duration_minutes"],
    ] as const) {
      expect(await problemPaths(await a.get(`${base}?${q}`)), q).toContain(path);
    }
    const ok = await a.get(`${base}?from=2026-06-01T00:00:00Z&to=2026-09-02T00:00:00Z`);
    expect(ok.status).toBe(200);
    expect((await ok.json<any>()).duration_minutes).toBe(30);
    const window = "from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z";
    for (const res of [await b.get(`${base}?${window}`), await a.get(`/calendars/${crypto.randomUUID()}/availability?${window}`)]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, detail: "No calendar has this id." });
    }
    expect((await a.get(`/calendars/nope/availability?${window}`)).status).toBe(422);
  });
});
