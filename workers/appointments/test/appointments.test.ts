import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORG_A, ORG_B, serviceClient } from "@buildly/shared/test";
import { rangeEndOf, seriesOf } from "../src/scheduling/series";
import { listAll, freshOrg, makeAppointment, makeCalendar, problemPaths, rpc } from "./helpers";

const DB = (env as unknown as { DB: D1Database }).DB;

const a = serviceClient(rpc, ORG_A);
const b = serviceClient(rpc, ORG_B);

const ADA = { contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", email: "ada@analytical.example", name: "Ada Lovelace" };
const GRACE = { email: "grace@cobol.example", name: "Grace Hopper" };

describe("appointments: create, read, update, delete", () => {
  it("stores the times in UTC, returns RFC 3339, and round-trips every field", async () => {
    const cal = await makeCalendar(a);
    const res = await a.post("/appointments", {
      calendar_id: cal.id,
      title: "  Kick-off  ",
      start: "2026-06-01T10:00:00+01:00",
      end: "2026-06-01T11:30:00+01:00",
      attendees: [ADA, GRACE],
      location: "Room 4",
    });
    expect(res.status).toBe(201);
    const appt = await res.json<any>();
    expect(appt).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      calendar_id: cal.id,
      title: "Kick-off",
      start: "2026-06-01T09:00:00.000Z",
      end: "2026-06-01T10:30:00.000Z",
      attendees: [ADA, { contact_id: null, ...GRACE }],
      location: "Room 4",
      status: "scheduled",
      recurrence: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.any(String),
    });
    expect(appt.updated_at).toBe(appt.created_at);
    expect(res.headers.get("location")).toBe(`/appointments/${appt.id}`);
    expect(await (await a.get(`/appointments/${appt.id}`)).json()).toEqual(appt);

    const patched = await a.patch(`/appointments/${appt.id}`, {
      title: "Kick-off (moved)",
      start: "2026-06-01T14:00:00-04:00",
      end: "2026-06-01T15:00:00-04:00",
      location: null,
    });
    expect(patched.status).toBe(200);
    const after = await patched.json<any>();
    expect(after).toMatchObject({
      title: "Kick-off (moved)",
      start: "2026-06-01T18:00:00.000Z",
      end: "2026-06-01T19:00:00.000Z",
      location: null,
      attendees: appt.attendees,
    });
    expect(after.updated_at >= appt.updated_at).toBe(true);
    expect(await (await a.get(`/appointments/${appt.id}`)).json()).toEqual(after);

    const cancelled = await (await a.patch(`/appointments/${appt.id}`, { status: "cancelled", attendees: [] })).json<any>();
    expect(cancelled).toMatchObject({ status: "cancelled", attendees: [], start: after.start });

    const del = await a.delete(`/appointments/${appt.id}`);
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    for (const res of [
      await a.get(`/appointments/${appt.id}`),
      await a.patch(`/appointments/${appt.id}`, { title: "x" }),
      await a.delete(`/appointments/${appt.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, detail: "No appointment has this id." });
    }
  });

  it("stores a recurrence in canonical form and can clear it", async () => {
    const cal = await makeCalendar(a);
    const appt = await makeAppointment(a, {
      calendar_id: cal.id,
      start: "2026-01-05T09:00:00Z",
      end: "2026-01-05T09:30:00Z",
      recurrence: "byday=MO;freq=weekly;interval=1;count=10",
    });
    expect(appt.recurrence).toBe("FREQ=WEEKLY;COUNT=10;BYDAY=MO");
    const once = await (await a.patch(`/appointments/${appt.id}`, { recurrence: null })).json<any>();
    expect(once.recurrence).toBeNull();
    const again = await (await a.patch(`/appointments/${appt.id}`, { recurrence: "FREQ=MONTHLY;BYDAY=1MO;UNTIL=20261231" })).json<any>();
    expect(again.recurrence).toBe("FREQ=MONTHLY;UNTIL=20261231;BYDAY=1MO");
  });

  it("moves an appointment to another calendar of the same organization", async () => {
    const [london, ny] = [await makeCalendar(a), await makeCalendar(a, { time_zone: "America/New_York" })];
    const appt = await makeAppointment(a, { calendar_id: london.id, start: "2026-05-04T09:00:00Z", end: "2026-05-04T10:00:00Z" });
    const moved = await a.patch(`/appointments/${appt.id}`, { calendar_id: ny.id });
    expect(moved.status).toBe(200);
    expect((await moved.json<any>()).calendar_id).toBe(ny.id);
    const nyList = await listAll(a, `/appointments?calendar_id=${ny.id}`);
    expect(nyList.map((x) => x.id)).toEqual([appt.id]);
    expect(await listAll(a, `/appointments?calendar_id=${london.id}`)).toEqual([]);
  });
});

describe("appointments: validation", () => {
  it("rejects missing, malformed and unknown fields with 422 and their paths", async () => {
    const cal = await makeCalendar(a);
    const ok = { calendar_id: cal.id, title: "Call", start: "2026-06-01T09:00:00Z", end: "2026-06-01T10:00:00Z" };
    expect(await problemPaths(await a.post("/appointments", {}))).toEqual(expect.arrayContaining(["calendar_id", "title", "start", "end"]));
    const cases: [Record<string, unknown>, string][] = [
      [{ title: "   " }, "title"],
      [{ title: "x".repeat(201) }, "title"],
      [{ calendar_id: "not-a-uuid" }, "calendar_id"],
      [{ start: "2026-06-01T09:00:00" }, "start"], // no offset: ambiguous
      [{ start: "2026-06-01 09:00" }, "start"],
      [{ start: "yesterday" }, "start"],
      [{ end: "2026-06-01T09:00:00Z" }, "end"], // not after start
      [{ end: "2026-06-01T08:00:00Z" }, "end"],
      [{ end: "2026-07-03T09:00:00Z" }, "end"], // longer than 31 days
      [{ start: "1969-12-31T23:00:00Z", end: "1970-01-01T00:00:00Z" }, "start"],
      [{ status: "postponed" }, "status"],
      [{ attendees: [{ email: "not-an-email", name: "X" }] }, "attendees.0.email"],
      [{ attendees: [{ email: "x@example.com", name: "" }] }, "attendees.0.name"],
      [{ attendees: [{ email: "x@example.com" }] }, "attendees.0.name"],
      [{ attendees: [{ email: "x@example.com", name: "X", contact_id: "nope" }] }, "attendees.0.contact_id"],
      [{ attendees: [{ email: "x@example.com", name: "X", phone: "1" }] }, "attendees.0"],
      [{ attendees: [ADA, { ...GRACE, email: "ADA@analytical.example" }] }, "attendees"],
      [{ attendees: Array.from({ length: 101 }, (_, i) => ({ email: `p${i}@example.com`, name: "P" })) }, "attendees"],
      [{ location: "x".repeat(501) }, "location"],
      [{ allow_overlap: "yes" }, "allow_overlap"],
      [{ organization_id: ORG_B }, ""],
      [{ id: crypto.randomUUID() }, ""],
    ];
    for (const [patch, path] of cases) {
      const paths = await problemPaths(await a.post("/appointments", { ...ok, ...patch }));
      expect(paths, JSON.stringify(patch).slice(0, 80)).toContain(path);
    }
    const noOffset = await (await a.post("/appointments", { ...ok, start: "2026-06-01T09:00:00" })).json<any>();
    expect(noOffset.errors).toContainEqual({ path: "start", message: "Use an RFC 3339 timestamp with an offset, e.g. 2026-03-30T09:00:00+01:00" });
    expect((await a.post("/appointments", ok)).status).toBe(201);
  });

  it("accepts only the RRULE subset and says what is wrong", async () => {
    const cal = await makeCalendar(a);
    const post = (recurrence: unknown, start = "2026-06-01T09:00:00Z") =>
      a.post("/appointments", { calendar_id: cal.id, title: "Series", start, end: start.replace("09:00", "09:30"), recurrence, allow_overlap: true });
    const bad: [string, RegExp][] = [
      ["FREQ=SECONDLY", /FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY/],
      ["FREQ=HOURLY", /FREQ must be/],
      ["INTERVAL=2", /FREQ is required/],
      ["FREQ=WEEKLY;COUNT=3;UNTIL=20261231T000000Z", /COUNT and UNTIL cannot both be given/],
      ["FREQ=YEARLY;BYWEEKNO=20", /BYWEEKNO is not supported/],
      ["FREQ=YEARLY;BYYEARDAY=100", /BYYEARDAY is not supported/],
      ["FREQ=MONTHLY;BYMONTH=13", /BYMONTH value "13" must be 1 to 12/],
      ["FREQ=YEARLY;BYMONTH=-1", /BYMONTH value "-1" must be 1 to 12/],
      ["FREQ=WEEKLY;BYMONTHDAY=1", /BYMONTHDAY cannot be used with FREQ=WEEKLY/],
      ["FREQ=MONTHLY;BYMONTHDAY=0", /BYMONTHDAY value "0" must be 1 to 31 or -1 to -31/],
      ["FREQ=MONTHLY;BYMONTHDAY=32", /BYMONTHDAY value "32"/],
      ["FREQ=MONTHLY;BYMONTHDAY=1,1", /BYMONTHDAY lists 1 twice/],
      ["FREQ=MONTHLY;BYSETPOS=-1", /BYSETPOS picks from the days another BY part gives/],
      ["FREQ=DAILY;BYMONTH=1;BYSETPOS=1", /BYSETPOS needs FREQ=MONTHLY or YEARLY/],
      ["FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1", /BYSETPOS needs FREQ=MONTHLY or YEARLY/],
      ["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", /BYSETPOS value "0"/],
      ["FREQ=YEARLY;BYDAY=54MO", /ordinal must be 1 to 53/],
      ["FREQ=YEARLY;BYMONTH=3;BYDAY=6SU", /ordinal must be 1 to 5/],
      ["FREQ=WEEKLY\nEXDATE:2026-06-08", /EXDATE value "2026-06-08" must be/],
      ["FREQ=WEEKLY\nEXDATE:20260608,20260608", /EXDATE lists 20260608 twice/],
      ["FREQ=WEEKLY\nEXDATE;TZID=Europe/London:20260608T090000", /not an EXDATE line/],
      ["FREQ=WEEKLY\nRDATE:20260609", /not an EXDATE line/],
      ["EXDATE:20260608\nFREQ=WEEKLY", /Start with the rule/],
      [
        `FREQ=DAILY\nEXDATE:${Array.from({ length: 101 }, (_, i) => new Date(Date.UTC(2026, 5, 2 + i)).toISOString().slice(0, 10).replaceAll("-", "")).join(",")}`,
        /At most 100 EXDATE values/,
      ],
      ["FREQ=WEEKLY;WKST=SU", /WKST is not supported/],
      ["FREQ=DAILY;BYHOUR=9", /BYHOUR is not supported/],
      ["FREQ=WEEKLY;INTERVAL=0", /INTERVAL must be/],
      ["FREQ=WEEKLY;INTERVAL=-1", /INTERVAL must be/],
      ["FREQ=WEEKLY;COUNT=0", /COUNT must be/],
      ["FREQ=WEEKLY;COUNT=1001", /COUNT must be/],
      ["FREQ=WEEKLY;UNTIL=2026-12-31", /UNTIL must be/],
      ["FREQ=WEEKLY;UNTIL=20261231T000000", /UNTIL must be/],
      ["FREQ=WEEKLY;UNTIL=20260230", /UNTIL must be/],
      ["FREQ=WEEKLY;BYDAY=1MO", /only with FREQ=MONTHLY/],
      ["FREQ=MONTHLY;BYDAY=6MO", /ordinal must be/],
      ["FREQ=WEEKLY;BYDAY=XX", /not a weekday/],
      ["FREQ=WEEKLY;BYDAY=MO,MO", /twice/],
      ["FREQ=WEEKLY;FREQ=DAILY", /given twice/],
      ["RRULE:FREQ=WEEKLY", /without the RRULE: prefix/],
      ["FREQ", /not NAME=VALUE/],
      ["", /Give a recurrence rule/],
    ];
    for (const [rule, message] of bad) {
      const res = await post(rule);
      expect(res.status, rule).toBe(422);
      const problem = await res.json<any>();
      expect(
        problem.errors.map((e: any) => e.path),
        rule,
      ).toEqual(["recurrence"]);
      expect(problem.errors[0].message, rule).toMatch(message);
    }
    // Rules that parse but do not fit this appointment: checked in the calendar's time zone.
    const misfits: [string, string, RegExp][] = [
      ["FREQ=WEEKLY;BYDAY=TU", "2026-06-01T09:00:00Z", /must be an occurrence of the rule/], // 1 June 2026 is a Monday
      ["FREQ=MONTHLY;BYDAY=1FR", "2026-06-01T09:00:00Z", /must be an occurrence/],
      ["FREQ=DAILY;BYDAY=SA,SU", "2026-06-01T09:00:00Z", /must be an occurrence/],
      ["FREQ=WEEKLY;UNTIL=20260101T000000Z", "2026-06-01T09:00:00Z", /UNTIL is before/],
      ["FREQ=WEEKLY;UNTIL=20260531", "2026-06-01T09:00:00Z", /UNTIL is before/],
      // 23:30 UTC on Sunday 31 May is 00:30 on Monday 1 June in London: a Monday there.
    ];
    for (const [rule, start, message] of misfits) {
      const res = await post(rule, start);
      expect(res.status, rule).toBe(422);
      expect((await res.json<any>()).errors, rule).toEqual([{ path: "recurrence", message: expect.stringMatching(message) }]);
    }
    const lateSunday = await a.post("/appointments", {
      calendar_id: cal.id,
      title: "Late",
      start: "2026-05-31T23:30:00Z",
      end: "2026-05-31T23:45:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
      allow_overlap: true,
    });
    expect(lateSunday.status).toBe(201);
    // A daily series lasting 25 hours would overlap itself.
    const selfOverlap = await a.post("/appointments", {
      calendar_id: cal.id,
      title: "Marathon",
      start: "2026-06-01T09:00:00Z",
      end: "2026-06-02T10:00:00Z",
      recurrence: "FREQ=DAILY;COUNT=3",
      allow_overlap: true,
    });
    expect((await selfOverlap.json<any>()).errors).toEqual([{ path: "recurrence", message: expect.stringMatching(/overlap one another/) }]);
    for (const rule of [
      "FREQ=DAILY",
      "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=12",
      "FREQ=MONTHLY;BYDAY=1MO,-1MO",
      "FREQ=MONTHLY;UNTIL=20271231T235959Z",
      null,
    ]) {
      expect((await post(rule)).status, String(rule)).toBe(201);
    }
  });

  it("checks an update against the stored fields it does not change", async () => {
    const cal = await makeCalendar(a);
    const appt = await makeAppointment(a, { calendar_id: cal.id, start: "2026-06-01T09:00:00Z", end: "2026-06-01T10:00:00Z" });
    const early = await a.patch(`/appointments/${appt.id}`, { end: "2026-06-01T08:00:00Z" });
    expect((await early.json<any>()).errors).toEqual([{ path: "end", message: "end must be after start" }]);
    expect(await problemPaths(await a.patch(`/appointments/${appt.id}`, { start: "2026-06-01T10:00:00Z" }))).toEqual(["end"]);
    expect(await problemPaths(await a.patch(`/appointments/${appt.id}`, { recurrence: "FREQ=WEEKLY;BYDAY=FR" }))).toEqual(["recurrence"]);
    for (const body of [{}, { allow_overlap: true }, { id: crypto.randomUUID() }]) {
      expect([...new Set(await problemPaths(await a.patch(`/appointments/${appt.id}`, body)))], JSON.stringify(body)).toEqual([""]);
    }
    expect(await problemPaths(await a.patch(`/appointments/${appt.id}`, { title: "" }))).toEqual(["title"]);
    expect((await a.get("/appointments/not-a-uuid")).status).toBe(422);
    expect(await (await a.get(`/appointments/${appt.id}`)).json()).toEqual(appt);
  });

  it("answers a calendar of another organization, or none, as a reference that does not exist", async () => {
    const theirs = await makeCalendar(b);
    const mine = await makeCalendar(a);
    const body = { title: "Sneaky", start: "2026-06-01T09:00:00Z", end: "2026-06-01T10:00:00Z" };
    for (const calendar_id of [theirs.id, crypto.randomUUID()]) {
      const res = await a.post("/appointments", { ...body, calendar_id });
      expect(res.status).toBe(422);
      expect((await res.json<any>()).errors).toEqual([{ path: "calendar_id", message: "No calendar has this id." }]);
    }
    const appt = await makeAppointment(a, { ...body, calendar_id: mine.id });
    const move = await a.patch(`/appointments/${appt.id}`, { calendar_id: theirs.id });
    expect(move.status).toBe(422);
    expect((await move.json<any>()).errors).toEqual([{ path: "calendar_id", message: "No calendar has this id." }]);
    expect(await listAll(b, `/appointments?calendar_id=${theirs.id}`)).toEqual([]);
  });

  it("answers malformed requests with problem+json", async () => {
    const bad = await a.raw("POST", "/appointments", { body: "{nope", headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe("application/problem+json");
    expect((await a.raw("POST", "/appointments", { body: "{}", headers: { "content-type": "text/plain" } })).status).toBe(415);
    const huge = JSON.stringify({ title: "x".repeat(70 * 1024) });
    expect((await a.raw("POST", "/appointments", { body: huge, headers: { "content-type": "application/json" } })).status).toBe(413);
    const id = crypto.randomUUID();
    expect((await a.raw("PATCH", `/appointments/${id}`, { body: "{nope", headers: { "content-type": "application/json" } })).status).toBe(400);
    const put = await a.raw("PUT", `/appointments/${id}`);
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");
    expect((await a.raw("DELETE", "/appointments")).headers.get("allow")).toBe("GET, HEAD, POST");
  });
});

describe("appointments: lists and occurrence windows", () => {
  it("pages through appointments oldest first, filtered by calendar and status", async () => {
    const { client } = freshOrg();
    const [one, two] = [await makeCalendar(client), await makeCalendar(client)];
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        await makeAppointment(client, {
          calendar_id: i % 2 ? two.id : one.id,
          title: `A${i}`,
          start: `2026-06-0${i + 1}T09:00:00Z`,
          end: `2026-06-0${i + 1}T10:00:00Z`,
        }),
      );
    }
    await client.patch(`/appointments/${made[4].id}`, { status: "completed" });
    const sizes: number[] = [];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await (await client.get(`/appointments?limit=2${cursor ? `&cursor=${cursor}` : ""}`)).json();
      sizes.push(page.data.length);
      seen.push(...page.data.map((x: any) => x.title));
      cursor = page.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(["A0", "A1", "A2", "A3", "A4"]);
    expect((await listAll(client, `/appointments?calendar_id=${two.id}`)).map((x) => x.title)).toEqual(["A1", "A3"]);
    expect((await listAll(client, "/appointments?status=completed")).map((x) => x.title)).toEqual(["A4"]);
    expect((await listAll(client, `/appointments?calendar_id=${one.id}&status=scheduled`)).map((x) => x.title)).toEqual(["A0", "A2"]);
    for (const q of ["limit=0", "limit=101", "cursor=garbage", "status=nope", "calendar_id=x"]) {
      expect((await client.get(`/appointments?${q}`)).status, q).toBe(422);
    }
  });

  it("expands recurring appointments in the window, at 09:00 London time on both sides of the clock change", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const weekly = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Stand-up",
      start: "2026-03-16T09:00:00Z",
      end: "2026-03-16T09:15:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    });
    const single = await makeAppointment(client, { calendar_id: cal.id, title: "Demo", start: "2026-03-31T13:00:00Z", end: "2026-03-31T14:00:00Z" });
    const res = await client.get(`/appointments?calendar_id=${cal.id}&from=2026-03-20T00:00:00Z&to=2026-04-14T00:00:00Z&limit=100`);
    expect(res.status).toBe(200);
    const page = await res.json<any>();
    expect(page.next_cursor).toBeNull();
    expect(page.data.map((o: any) => [o.appointment_id === weekly.id ? "weekly" : "single", o.start, o.end])).toEqual([
      ["weekly", "2026-03-23T09:00:00.000Z", "2026-03-23T09:15:00.000Z"], // GMT
      ["weekly", "2026-03-30T08:00:00.000Z", "2026-03-30T08:15:00.000Z"], // BST: still 09:00 local
      ["single", "2026-03-31T13:00:00.000Z", "2026-03-31T14:00:00.000Z"],
      ["weekly", "2026-04-06T08:00:00.000Z", "2026-04-06T08:15:00.000Z"],
      ["weekly", "2026-04-13T08:00:00.000Z", "2026-04-13T08:15:00.000Z"],
    ]);
    expect(page.data[0]).toEqual({
      appointment_id: weekly.id,
      calendar_id: cal.id,
      title: "Stand-up",
      start: "2026-03-23T09:00:00.000Z",
      end: "2026-03-23T09:15:00.000Z",
      attendees: [],
      location: null,
      status: "scheduled",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    });
    expect(page.data.find((o: any) => o.appointment_id === single.id).recurrence).toBeNull();

    // Autumn: back to 09:00 UTC after 25 October.
    const autumn = await (await client.get(`/appointments?from=2026-10-19T00:00:00%2B01:00&to=2026-11-03T00:00:00Z`)).json<any>();
    expect(autumn.data.map((o: any) => o.start)).toEqual(["2026-10-19T08:00:00.000Z", "2026-10-26T09:00:00.000Z", "2026-11-02T09:00:00.000Z"]);
  });

  it("includes an occurrence that began before the window and excludes one that ends at its start", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    await makeAppointment(client, { calendar_id: cal.id, title: "Spans", start: "2026-06-01T09:00:00Z", end: "2026-06-01T11:00:00Z" });
    await makeAppointment(client, { calendar_id: cal.id, title: "Before", start: "2026-06-01T08:00:00Z", end: "2026-06-01T09:00:00Z", allow_overlap: true });
    await makeAppointment(client, { calendar_id: cal.id, title: "At end", start: "2026-06-01T12:00:00Z", end: "2026-06-01T13:00:00Z" });
    const titles = async (from: string, to: string) => (await listAll(client, `/appointments?from=${from}&to=${to}`)).map((o) => o.title);
    expect(await titles("2026-06-01T10:00:00Z", "2026-06-01T12:00:00Z")).toEqual(["Spans"]);
    expect(await titles("2026-06-01T09:00:00Z", "2026-06-01T12:00:01Z")).toEqual(["Spans", "At end"]);
    expect(await titles("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z")).toEqual(["Before", "Spans", "At end"]);
  });

  it("pages through occurrences with a cursor and filters them by status", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const daily = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Daily",
      start: "2026-07-01T09:00:00Z",
      end: "2026-07-01T09:30:00Z",
      recurrence: "FREQ=DAILY;COUNT=30",
    });
    const weekly = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Weekly",
      start: "2026-07-01T12:00:00Z",
      end: "2026-07-01T13:00:00Z",
      recurrence: "FREQ=WEEKLY",
    });
    const window = "from=2026-07-01T00:00:00Z&to=2026-08-01T00:00:00Z";
    const all = await listAll(client, `/appointments?${window}&limit=7`);
    expect(all.filter((o) => o.appointment_id === daily.id)).toHaveLength(30);
    expect(all.filter((o) => o.appointment_id === weekly.id).map((o) => o.start)).toEqual(
      ["01", "08", "15", "22", "29"].map((d) => `2026-07-${d}T12:00:00.000Z`),
    );
    expect(all.map((o) => o.start)).toEqual([...all.map((o) => o.start)].sort());
    expect(new Set(all.map((o) => `${o.appointment_id}${o.start}`)).size).toBe(35);
    await client.patch(`/appointments/${daily.id}`, { status: "cancelled" });
    expect((await listAll(client, `/appointments?${window}&status=cancelled&limit=100`)).length).toBe(30);
    expect((await listAll(client, `/appointments?${window}&status=scheduled`)).map((o) => o.title)).toEqual(Array(5).fill("Weekly"));
  });

  it("bounds the window: both ends, in order, at most 366 days", async () => {
    for (const [q, path] of [
      ["from=2026-01-01T00:00:00Z", "query.to"],
      ["to=2026-01-01T00:00:00Z", "query.from"],
      ["from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "query.to"],
      ["from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "query.to"],
      ["from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:01Z", "query.to"],
      ["from=2026-01-01&to=2026-02-01", "query.from"],
    ] as const) {
      expect(await problemPaths(await a.get(`/appointments?${q}`)), q).toContain(path);
    }
    const res = await a.get("/appointments?from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:00Z");
    expect(res.status).toBe(200);
  });

  it("expands a series without COUNT or UNTIL for two years only", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Forever",
      start: "2026-01-05T09:00:00Z",
      end: "2026-01-05T10:00:00Z",
      recurrence: "FREQ=WEEKLY",
    });
    const year1 = await listAll(client, "/appointments?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&limit=100");
    const year2 = await listAll(client, "/appointments?from=2027-01-01T00:00:00Z&to=2028-01-01T00:00:00Z&limit=100");
    const year3 = await listAll(client, "/appointments?from=2028-01-01T00:00:00Z&to=2029-01-01T00:00:00Z&limit=100");
    expect(year1).toHaveLength(52);
    expect(year2).toHaveLength(52);
    expect(year3.map((o) => o.start)).toEqual(["2028-01-03T09:00:00.000Z"]); // the last before 2028-01-05T09:00Z
  });
});

describe("appointments: overlaps", () => {
  it("refuses an overlapping appointment with 409 naming the one it hits, and allows back-to-back ones", async () => {
    const cal = await makeCalendar(a);
    const base = await makeAppointment(a, { calendar_id: cal.id, title: "Board", start: "2026-09-01T09:00:00Z", end: "2026-09-01T10:00:00Z" });
    const res = await a.post("/appointments", { calendar_id: cal.id, title: "Clash", start: "2026-09-01T10:30:00+01:00", end: "2026-09-01T11:30:00+01:00" });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = await res.json<any>();
    expect(problem).toMatchObject({ status: 409, title: "Conflict" });
    expect(problem.detail).toContain(base.id);
    expect(problem.conflicts).toEqual([
      {
        appointment_id: base.id,
        title: "Board",
        occurrence_start: "2026-09-01T09:00:00.000Z",
        occurrence_end: "2026-09-01T10:00:00.000Z",
        requested_start: "2026-09-01T09:30:00.000Z",
        requested_end: "2026-09-01T10:30:00.000Z",
      },
    ]);
    expect((await a.post("/appointments", { calendar_id: cal.id, title: "Inside", start: "2026-09-01T09:15:00Z", end: "2026-09-01T09:45:00Z" })).status).toBe(
      409,
    );
    expect((await a.post("/appointments", { calendar_id: cal.id, title: "Around", start: "2026-09-01T08:00:00Z", end: "2026-09-01T11:00:00Z" })).status).toBe(
      409,
    );
    // Touching is not overlapping.
    await makeAppointment(a, { calendar_id: cal.id, title: "After", start: "2026-09-01T10:00:00Z", end: "2026-09-01T11:00:00Z" });
    await makeAppointment(a, { calendar_id: cal.id, title: "Before", start: "2026-09-01T08:00:00Z", end: "2026-09-01T09:00:00Z" });
    // Another calendar is another diary.
    const other = await makeCalendar(a);
    await makeAppointment(a, { calendar_id: other.id, title: "Elsewhere", start: "2026-09-01T09:00:00Z", end: "2026-09-01T10:00:00Z" });
  });

  it("ignores cancelled and completed appointments, and writes anyway with allow_overlap", async () => {
    const cal = await makeCalendar(a);
    const slot = { start: "2026-09-02T09:00:00Z", end: "2026-09-02T10:00:00Z" };
    const first = await makeAppointment(a, { calendar_id: cal.id, ...slot, status: "cancelled" });
    await makeAppointment(a, { calendar_id: cal.id, ...slot, status: "completed" });
    const live = await makeAppointment(a, { calendar_id: cal.id, ...slot });
    expect((await a.post("/appointments", { calendar_id: cal.id, title: "Third", ...slot })).status).toBe(409);
    const forced = await makeAppointment(a, { calendar_id: cal.id, ...slot, allow_overlap: true });
    expect(forced).not.toHaveProperty("allow_overlap");
    // Reinstating the cancelled one would now overlap.
    const back = await a.patch(`/appointments/${first.id}`, { status: "scheduled" });
    expect(back.status).toBe(409);
    expect((await back.json<any>()).conflicts.map((c: any) => c.appointment_id).sort()).toEqual([live.id, forced.id].sort());
    expect((await (await a.get(`/appointments/${first.id}`)).json<any>()).status).toBe("cancelled");
    expect((await a.patch(`/appointments/${first.id}`, { status: "scheduled", allow_overlap: true })).status).toBe(200);
    // Renaming an appointment that already overlaps does not re-check.
    expect((await a.patch(`/appointments/${forced.id}`, { title: "Renamed" })).status).toBe(200);
  });

  it("refuses to move an appointment onto another and leaves it where it was", async () => {
    const [cal, other] = [await makeCalendar(a), await makeCalendar(a)];
    const fixed = await makeAppointment(a, { calendar_id: cal.id, start: "2026-09-03T09:00:00Z", end: "2026-09-03T10:00:00Z" });
    const mover = await makeAppointment(a, { calendar_id: cal.id, start: "2026-09-03T11:00:00Z", end: "2026-09-03T12:00:00Z" });
    const res = await a.patch(`/appointments/${mover.id}`, { start: "2026-09-03T09:30:00Z" });
    expect(res.status).toBe(409);
    expect((await res.json<any>()).conflicts[0].appointment_id).toBe(fixed.id);
    expect(await (await a.get(`/appointments/${mover.id}`)).json()).toEqual(mover);
    // Into another calendar at a clashing time: checked against that calendar.
    const blocker = await makeAppointment(a, { calendar_id: other.id, start: "2026-09-03T11:30:00Z", end: "2026-09-03T12:30:00Z" });
    const move = await a.patch(`/appointments/${mover.id}`, { calendar_id: other.id });
    expect(move.status).toBe(409);
    expect((await move.json<any>()).conflicts[0].appointment_id).toBe(blocker.id);
    // Shortening itself never conflicts with itself.
    expect((await a.patch(`/appointments/${mover.id}`, { end: "2026-09-03T11:30:00Z" })).status).toBe(200);
  });

  it("finds overlaps with any occurrence of a recurring appointment, on either side", async () => {
    const cal = await makeCalendar(a, { time_zone: "Europe/London" });
    // Mondays 09:00-10:00 London time from 2 March 2026 (GMT, then BST from 29 March).
    const weekly = await makeAppointment(a, {
      calendar_id: cal.id,
      title: "Weekly",
      start: "2026-03-02T09:00:00Z",
      end: "2026-03-02T10:00:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    });
    // A one-off on Monday 6 April at 08:30-09:00 UTC is 09:30 BST: inside that day's occurrence.
    const hit = await a.post("/appointments", { calendar_id: cal.id, title: "One-off", start: "2026-04-06T08:30:00Z", end: "2026-04-06T09:00:00Z" });
    expect(hit.status).toBe(409);
    expect((await hit.json<any>()).conflicts).toEqual([
      expect.objectContaining({ appointment_id: weekly.id, occurrence_start: "2026-04-06T08:00:00.000Z", occurrence_end: "2026-04-06T09:00:00.000Z" }),
    ]);
    // 09:00-10:00 UTC on that Monday is 10:00-11:00 BST: free, although it would clash if the series ran in UTC.
    const free = await makeAppointment(a, { calendar_id: cal.id, title: "Late morning", start: "2026-04-06T09:00:00Z", end: "2026-04-06T10:00:00Z" });

    // A new recurring one that meets an existing one-off only on its fourth occurrence.
    const lone = await makeAppointment(a, { calendar_id: cal.id, title: "Lone", start: "2026-05-21T14:00:00Z", end: "2026-05-21T15:00:00Z" });
    const series = await a.post("/appointments", {
      calendar_id: cal.id,
      title: "Thursdays",
      start: "2026-04-30T14:30:00Z",
      end: "2026-04-30T15:30:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=TH;COUNT=10",
    });
    expect(series.status).toBe(409);
    expect((await series.json<any>()).conflicts).toEqual([
      {
        appointment_id: lone.id,
        title: "Lone",
        occurrence_start: "2026-05-21T14:00:00.000Z",
        occurrence_end: "2026-05-21T15:00:00.000Z",
        requested_start: "2026-05-21T14:30:00.000Z",
        requested_end: "2026-05-21T15:30:00.000Z",
      },
    ]);
    // Three occurrences end before it: fine.
    await makeAppointment(a, {
      calendar_id: cal.id,
      title: "Three Thursdays",
      start: "2026-04-30T14:30:00Z",
      end: "2026-04-30T15:30:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=TH;COUNT=3",
    });

    // Two series: a fortnightly Monday one meets the weekly one on its first Monday at 09:30 local.
    const clash = await a.post("/appointments", {
      calendar_id: cal.id,
      title: "Fortnightly",
      start: "2026-06-01T08:30:00Z",
      end: "2026-06-01T09:30:00Z",
      recurrence: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
    });
    expect(clash.status).toBe(409);
    expect((await clash.json<any>()).conflicts[0]).toMatchObject({ appointment_id: weekly.id, occurrence_start: "2026-06-01T08:00:00.000Z" });
    // Moving the existing one-off onto a Monday morning: 409 too.
    const move = await a.patch(`/appointments/${free.id}`, { start: "2026-04-13T07:30:00Z", end: "2026-04-13T08:30:00Z" });
    expect(move.status).toBe(409);
    expect((await move.json<any>()).conflicts[0]).toMatchObject({ appointment_id: weekly.id, occurrence_start: "2026-04-13T08:00:00.000Z" });
  });

  it("lets exactly one of ten simultaneous overlapping creates through", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.post("/appointments", { calendar_id: cal.id, title: `Race ${i}`, start: `2026-10-01T09:0${i}:00Z`, end: "2026-10-01T10:30:00Z" }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    const winner = await results.find((r) => r.status === 201)!.json<any>();
    for (const r of results.filter((r) => r.status === 409)) {
      expect((await r.json<any>()).conflicts[0].appointment_id).toBe(winner.id);
    }
    expect((await listAll(client, "/appointments")).map((x) => x.id)).toEqual([winner.id]);
  });

  it("lets simultaneous writes that do not overlap all through, and serializes recurring ones too", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const day = (i: number, h: number) => new Date(Date.UTC(2026, 9, 1 + i, h)).toISOString();
    const apart = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.post("/appointments", { calendar_id: cal.id, title: `Slot ${i}`, start: day(i, 9), end: day(i, 10) })),
    );
    expect(apart.map((r) => r.status)).toEqual(Array(10).fill(201));
    // Ten weekly series starting on different Mondays of the same hour all meet each other eventually.
    const series = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.post("/appointments", {
          calendar_id: cal.id,
          title: `Series ${i}`,
          start: new Date(Date.UTC(2027, 0, 4 + 7 * i, 15)).toISOString(),
          end: new Date(Date.UTC(2027, 0, 4 + 7 * i, 16)).toISOString(),
          recurrence: "FREQ=WEEKLY",
        }),
      ),
    );
    expect(series.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
  });

  it("moving and rescheduling the same appointment at once leaves it checked in the calendar it ends up in", async () => {
    const { client } = freshOrg();
    const [one, two] = [await makeCalendar(client), await makeCalendar(client)];
    const appt = await makeAppointment(client, { calendar_id: one.id, start: "2026-11-02T09:00:00Z", end: "2026-11-02T10:00:00Z" });
    const blocker = await makeAppointment(client, { calendar_id: two.id, start: "2026-11-02T12:00:00Z", end: "2026-11-02T13:00:00Z" });
    // Either order is fine, but the appointment must never end up in calendar two at 12:00.
    const [move, reschedule] = await Promise.all([
      client.patch(`/appointments/${appt.id}`, { calendar_id: two.id }),
      client.patch(`/appointments/${appt.id}`, { start: "2026-11-02T12:00:00Z", end: "2026-11-02T13:00:00Z" }),
    ]);
    expect([move.status, reschedule.status].sort()).toEqual([200, 409]);
    const final = await (await client.get(`/appointments/${appt.id}`)).json<any>();
    expect(final.calendar_id === two.id && final.start === "2026-11-02T12:00:00.000Z").toBe(false);
    expect(blocker.id).toBeTruthy();
  });
});

describe("appointments: calendars that change", () => {
  it("deleting a calendar deletes its appointments", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const appt = await makeAppointment(client, { calendar_id: cal.id, start: "2026-06-01T09:00:00Z", end: "2026-06-01T10:00:00Z" });
    expect((await client.delete(`/calendars/${cal.id}`)).status).toBe(204);
    expect((await client.get(`/appointments/${appt.id}`)).status).toBe(404);
    expect(await listAll(client, "/appointments")).toEqual([]);
    expect((await client.delete(`/calendars/${cal.id}`)).status).toBe(404);
  });

  it("refuses a time zone change that would make a recurring appointment overlap, and allows a harmless one", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    // Weekly 09:00 London from January: 09:00Z in winter, 08:00Z in summer.
    const weekly = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Weekly",
      start: "2026-01-05T09:00:00Z",
      end: "2026-01-05T10:00:00Z",
      recurrence: "FREQ=WEEKLY;COUNT=30",
    });
    // Monday 6 July 09:00-10:00 UTC is free in London (the series is at 08:00Z then).
    const july = await makeAppointment(client, { calendar_id: cal.id, title: "July", start: "2026-07-06T09:00:00Z", end: "2026-07-06T10:00:00Z" });
    // In UTC the series would stay at 09:00Z all year and hit it.
    const res = await client.patch(`/calendars/${cal.id}`, { time_zone: "UTC" });
    expect(res.status).toBe(409);
    const problem = await res.json<any>();
    expect(problem.conflicts).toEqual([
      expect.objectContaining({ appointment_id: july.id, requested_start: "2026-07-06T09:00:00.000Z", occurrence_start: "2026-07-06T09:00:00.000Z" }),
    ]);
    expect((await (await client.get(`/calendars/${cal.id}`)).json<any>()).time_zone).toBe("Europe/London");
    // Lisbon keeps the same clock as London: nothing moves.
    expect((await client.patch(`/calendars/${cal.id}`, { time_zone: "Europe/Lisbon", name: "Lisbon desk" })).status).toBe(200);
    expect(weekly.id).toBeTruthy();
    // Once the one-off is gone, UTC is fine, and the series now follows UTC.
    await client.delete(`/appointments/${july.id}`);
    expect((await client.patch(`/calendars/${cal.id}`, { time_zone: "UTC" })).status).toBe(200);
    const occ = await listAll(client, "/appointments?from=2026-07-06T00:00:00Z&to=2026-07-07T00:00:00Z");
    expect(occ.map((o) => o.start)).toEqual(["2026-07-06T09:00:00.000Z"]);
  });
});

describe("appointments: time zone changes and recurring series", () => {
  it("refuses a zone in which a series' first start is no longer an occurrence of its rule", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    // Fridays 23:30 London (GMT): Saturday 08:30 in Tokyo, which BYDAY=FR does not select.
    const late = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Late",
      start: "2026-01-02T23:30:00Z",
      end: "2026-01-02T23:45:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=FR;COUNT=4",
      status: "cancelled",
    });
    const res = await client.patch(`/calendars/${cal.id}`, { time_zone: "Asia/Tokyo" });
    expect(res.status).toBe(409);
    const problem = await res.json<any>();
    expect(problem.appointments).toEqual([{ appointment_id: late.id, title: "Late", problem: expect.stringMatching(/must be an occurrence/) }]);
    expect((await (await client.get(`/calendars/${cal.id}`)).json<any>()).time_zone).toBe("Europe/London");
    // New York keeps it on Friday (18:30): fine.
    expect((await client.patch(`/calendars/${cal.id}`, { time_zone: "America/New_York" })).status).toBe(200);
  });

  it("re-bounds the stored range of each series in the new zone", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    // The 5th of each month at 09:00 London: the third is in BST (08:00Z). In Tokyo all stay at 09:00Z.
    const series = await makeAppointment(client, {
      calendar_id: cal.id,
      title: "Series",
      start: "2026-02-05T09:00:00Z",
      end: "2026-02-05T10:00:00Z",
      recurrence: "FREQ=MONTHLY;COUNT=3",
    });
    expect((await listAll(client, "/appointments?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z")).map((o) => o.start)[2]).toBe("2026-04-05T08:00:00.000Z");
    expect((await client.patch(`/calendars/${cal.id}`, { time_zone: "Asia/Tokyo" })).status).toBe(200);
    const row = await DB.prepare("SELECT * FROM appointments WHERE id = ? AND organization_id = ?").bind(series.id, org).first<any>();
    expect(row.range_end).toBe(rangeEndOf(seriesOf(row), "Asia/Tokyo"));
    expect(row.range_end).not.toBe(rangeEndOf(seriesOf(row), "Europe/London"));
    const occ = await listAll(client, "/appointments?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z");
    expect(occ.map((o) => o.start)).toEqual(["2026-02-05T09:00:00.000Z", "2026-03-05T09:00:00.000Z", "2026-04-05T09:00:00.000Z"]);
  });
});

describe("appointments: isolation between organizations", () => {
  it("hides another organization's appointments as if they did not exist", async () => {
    const cal = await makeCalendar(a);
    const appt = await makeAppointment(a, { calendar_id: cal.id, title: "Private", start: "2026-12-01T09:00:00Z", end: "2026-12-01T10:00:00Z" });
    for (const res of [
      await b.get(`/appointments/${appt.id}`),
      await b.patch(`/appointments/${appt.id}`, { title: "Mallory" }),
      await b.patch(`/appointments/${appt.id}`, { calendar_id: cal.id }),
      await b.delete(`/appointments/${appt.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, detail: "No appointment has this id." });
    }
    const listed = await listAll(b, "/appointments?limit=100");
    expect(listed.map((x) => x.id)).not.toContain(appt.id);
    const window = await listAll(b, "/appointments?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&limit=100");
    expect(window.map((x) => x.appointment_id)).not.toContain(appt.id);
    expect(await listAll(b, `/appointments?calendar_id=${cal.id}`)).toEqual([]);
    // B's own calendar at the same time is not blocked by A's appointment.
    const theirs = await makeCalendar(b);
    await makeAppointment(b, { calendar_id: theirs.id, start: "2026-12-01T09:00:00Z", end: "2026-12-01T10:00:00Z" });
    // And B cannot reach A's calendar through its writer either.
    expect((await b.patch(`/calendars/${cal.id}`, { time_zone: "UTC" })).status).toBe(404);
    expect((await b.delete(`/calendars/${cal.id}`)).status).toBe(404);
    expect(await (await a.get(`/appointments/${appt.id}`)).json()).toEqual(appt);
  });
});
