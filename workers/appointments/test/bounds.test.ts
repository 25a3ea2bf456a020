// What one request may cost: a cap on series per calendar, sweeps that do not grow with the
// square of the series, and caps (422) on the windows and the feed.
import ICAL from "ical.js";
import { describe, expect, it } from "vitest";
import { subtract } from "../src/routes/availability/availability.handlers";
import { expand, parseRule, type Occurrence } from "../src/lib/rrule";
import { offsetAt } from "../src/lib/zoned";
import { OverlapSet, sweepOverlaps } from "../src/scheduling/series";
import { listAll, freshOrg, insertAppointments, makeAppointment, makeCalendar } from "./helpers";

const DAILY_9 = { start: "2026-01-05T09:00:00Z", end: "2026-01-05T10:00:00Z", recurrence: "FREQ=DAILY" };

async function fieldErrors(res: Response): Promise<{ path: string; message: string }[]> {
  expect(res.status).toBe(422);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json<any>()).errors;
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  console.log(`${label}: ${Date.now() - started} ms`);
  return result;
}

/** A seeded pseudo-random generator, so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

describe("series per calendar", () => {
  it("holds at most 200 recurring appointments in a calendar, whatever their status, and refuses more with a 422 naming the limit", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const elsewhere = await makeCalendar(client);
    await insertAppointments(
      org,
      cal,
      Array.from({ length: 199 }, (_, i) => ({ ...DAILY_9, status: i % 10 ? "scheduled" : "cancelled" })),
    );
    const last = await makeAppointment(client, { calendar_id: cal.id, ...DAILY_9, recurrence: "FREQ=WEEKLY", allow_overlap: true });

    for (const recurrence of ["FREQ=DAILY;COUNT=3", " freq=weekly ; byday=mo ", "FREQ=MONTHLY;UNTIL=20261231"]) {
      const errors = await fieldErrors(
        await client.post("/appointments", { calendar_id: cal.id, title: "One too many", ...DAILY_9, recurrence, allow_overlap: true }),
      );
      expect(errors).toEqual([{ path: "recurrence", message: expect.stringContaining("at most 200 recurring appointments") }]);
    }
    // One-offs are not series: still welcome, but not as a series.
    const once = await makeAppointment(client, { calendar_id: cal.id, start: "2026-01-05T12:00:00Z", end: "2026-01-05T13:00:00Z" });
    expect((await fieldErrors(await client.patch(`/appointments/${once.id}`, { recurrence: "FREQ=DAILY;COUNT=2" })))[0]!.path).toBe("recurrence");
    // Nor can a series move in from another calendar.
    const mover = await makeAppointment(client, { calendar_id: elsewhere.id, ...DAILY_9, recurrence: "FREQ=DAILY;COUNT=5" });
    expect((await fieldErrors(await client.patch(`/appointments/${mover.id}`, { calendar_id: cal.id, allow_overlap: true })))[0]!.path).toBe("calendar_id");
    // A series already in the calendar may still change.
    expect((await client.patch(`/appointments/${last.id}`, { recurrence: "FREQ=WEEKLY;COUNT=5", title: "Still here", allow_overlap: true })).status).toBe(200);

    // Deleting one frees exactly one place, also for writes that arrive together.
    expect((await client.delete(`/appointments/${last.id}`)).status).toBe(204);
    const racing = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        client.post("/appointments", { calendar_id: cal.id, title: `Racer ${i}`, ...DAILY_9, recurrence: "FREQ=DAILY;COUNT=9", allow_overlap: true }),
      ),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([201, 422, 422, 422, 422]);
    const series = (await listAll(client, `/appointments?calendar_id=${cal.id}&limit=100`)).filter((a) => a.recurrence);
    expect(series).toHaveLength(200);
  });

  it("changes the time zone of a calendar of 200 overlapping daily series, and still finds the one new overlap among them", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client, { time_zone: "Europe/London" });
    await insertAppointments(
      org,
      cal,
      Array.from({ length: 200 }, () => DAILY_9),
    );
    // 09:00-10:00 UTC on 6 July: free in London, where the series sit at 08:00Z in summer.
    const july = await makeAppointment(client, { calendar_id: cal.id, title: "July", start: "2026-07-06T09:00:00Z", end: "2026-07-06T10:00:00Z" });

    const refused = await timed("PATCH time_zone, 200 overlapping daily series + 1 new overlap (409)", () =>
      client.patch(`/calendars/${cal.id}`, { time_zone: "UTC" }),
    );
    expect(refused.status).toBe(409);
    const problem = await refused.json<any>();
    // Only the new pairs (each series with July), not the 19,900 pairs of series that already overlapped.
    expect(problem.conflicts).toHaveLength(10);
    for (const c of problem.conflicts) {
      expect(c).toMatchObject({ appointment_id: july.id, occurrence_start: "2026-07-06T09:00:00.000Z", requested_start: "2026-07-06T09:00:00.000Z" });
    }
    expect((await (await client.get(`/calendars/${cal.id}`)).json<any>()).time_zone).toBe("Europe/London");

    await client.delete(`/appointments/${july.id}`);
    const changed = await timed("PATCH time_zone, 200 overlapping daily series (200)", () =>
      client.patch(`/calendars/${cal.id}`, { time_zone: "America/New_York" }),
    );
    expect(changed.status).toBe(200);
    const day = await listAll(client, `/appointments?calendar_id=${cal.id}&from=2026-07-06T00:00:00Z&to=2026-07-07T00:00:00Z&limit=100`);
    expect(day).toHaveLength(200);
    // Each keeps its first start (09:00Z on 5 January, 04:00 in New York) and then 04:00 New York time.
    expect(new Set(day.map((o) => o.start))).toEqual(new Set(["2026-07-06T08:00:00.000Z"]));
  }, 30_000); // a guard, not a benchmark: before the sweep and offset cache this took ~50 s here
});

describe("the overlap sweep", () => {
  /** The same answer the slow way: every pair, every occurrence. */
  function bruteForce(timelines: Occurrence[][], movers: number, known: Set<string>): Map<string, number> {
    const firsts = new Map<string, number>();
    for (let i = 0; i < timelines.length; i++) {
      for (let j = i + 1; j < timelines.length; j++) {
        if (i >= movers && j >= movers) continue;
        if (known.has(`${i}|${j}`)) continue;
        for (const a of timelines[i]!) {
          for (const b of timelines[j]!) {
            if (a.start < b.end && b.start < a.end) {
              const at = Math.max(a.start, b.start);
              firsts.set(`${i}|${j}`, Math.min(firsts.get(`${i}|${j}`) ?? Infinity, at));
            }
          }
        }
      }
    }
    return firsts;
  }

  function timelinesOf(next: () => number, count: number): Occurrence[][] {
    return Array.from({ length: count }, () => {
      const out: Occurrence[] = [];
      let t = Math.floor(next() * 20);
      const n = 1 + Math.floor(next() * 8);
      for (let k = 0; k < n; k++) {
        const length = 1 + Math.floor(next() * 6);
        out.push({ start: t, end: t + length });
        t += length + Math.floor(next() * 5); // sometimes touching (gap 0), never overlapping itself
      }
      return out;
    });
  }

  it("reports every new overlapping pair once, at its first overlap, like a brute-force check (several word sizes, touching and equal starts)", () => {
    const next = random(42);
    for (const count of [1, 2, 5, 31, 32, 33, 70]) {
      for (let round = 0; round < 6; round++) {
        const timelines = timelinesOf(next, count);
        const movers = Math.floor(next() * (count + 1));
        const known = new OverlapSet(movers, count);
        // Some pairs already known (as after the sweep in the old time zone).
        const knownKeys = new Set<string>();
        for (let k = 0; k < count; k++) {
          const i = Math.floor(next() * count);
          const j = Math.floor(next() * count);
          if (i === j || (i >= movers && j >= movers)) continue;
          known.add(i, j);
          knownKeys.add(`${Math.min(i, j)}|${Math.max(i, j)}`);
        }
        const found = new Map<string, number>();
        sweepOverlaps(timelines, known, (earlier, a, later, b) => {
          const key = `${Math.min(earlier, later)}|${Math.max(earlier, later)}`;
          expect(found.has(key), key).toBe(false);
          expect(a.start < b.end && b.start < a.end).toBe(true);
          found.set(key, Math.max(a.start, b.start));
        });
        expect(found, `count ${count}, movers ${movers}`).toEqual(bruteForce(timelines, movers, knownKeys));
        for (const key of found.keys()) {
          const [i, j] = key.split("|").map(Number);
          expect(known.has(i!, j!) && known.has(j!, i!)).toBe(true);
        }
      }
    }
  });
});

describe("windows and the feed", () => {
  it("answers a window holding more than 5000 appointments with a 422 naming the cap, and the same window of one calendar", async () => {
    const { org, client } = freshOrg();
    const [big, small] = [await makeCalendar(client), await makeCalendar(client)];
    const oneOff = (i: number) => ({
      start: new Date(Date.UTC(2026, 2, 1) + i * 60_000).toISOString(),
      end: new Date(Date.UTC(2026, 2, 1) + (i + 1) * 60_000).toISOString(),
    });
    await insertAppointments(
      org,
      big,
      Array.from({ length: 4000 }, (_, i) => oneOff(i)),
    );
    await insertAppointments(
      org,
      small,
      Array.from({ length: 1001 }, (_, i) => oneOff(i)),
    );
    const window = "from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z";
    for (const query of [window, `${window}&status=scheduled`, `${window}&limit=1`]) {
      const errors = await fieldErrors(await client.get(`/appointments?${query}`));
      expect(errors).toEqual([{ path: "to", message: expect.stringContaining("more than 5000 appointments") }]);
    }
    const page = await client.get(`/appointments?${window}&calendar_id=${big.id}&limit=3`);
    expect(page.status).toBe(200);
    expect((await page.json<any>()).data.map((o: any) => o.start)).toEqual(
      [oneOff(0).start, oneOff(1).start, oneOff(2).start].map((s) => new Date(s).toISOString()),
    );
    // Cancelled ones do not count for availability, scheduled ones do.
    const res = await client.get(`/calendars/${big.id}/availability?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z`);
    expect(res.status).toBe(200);
    await insertAppointments(
      org,
      big,
      Array.from({ length: 1001 }, (_, i) => ({ ...oneOff(i), status: "cancelled" })),
    );
    expect((await client.get(`/calendars/${big.id}/availability?from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z`)).status).toBe(200);
    await insertAppointments(
      org,
      big,
      Array.from({ length: 1001 }, (_, i) => oneOff(5000 + i)),
    );
    const errors = await fieldErrors(await client.get(`/calendars/${big.id}/availability?from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z`));
    expect(errors).toEqual([{ path: "to", message: expect.stringContaining("more than 5000 scheduled appointments") }]);
  }, 60_000);

  it("pages a window of many series, across both DST changes, exactly as one full expansion sorted by start and id", async () => {
    const { client } = freshOrg();
    const london = await makeCalendar(client, { time_zone: "Europe/London" });
    const ny = await makeCalendar(client, { time_zone: "America/New_York" });
    const rules = [
      "FREQ=DAILY",
      "FREQ=DAILY;INTERVAL=3",
      "FREQ=WEEKLY;BYDAY=MO,WE,FR",
      "FREQ=MONTHLY;BYDAY=1TU,-1FR",
      "FREQ=WEEKLY;COUNT=10",
      "FREQ=DAILY;UNTIL=20261101",
    ];
    const made: any[] = [];
    for (const [k, cal] of [london, ny].entries()) {
      for (const [i, rule] of rules.entries()) {
        const start = rule.includes("BYDAY=MO") ? "2026-01-05" : rule.includes("1TU") ? "2026-01-06" : "2026-01-07";
        made.push(
          await makeAppointment(client, {
            calendar_id: cal.id,
            title: `${k}-${i}`,
            start: `${start}T${10 + i}:1${k}:00Z`,
            end: `${start}T${10 + i}:4${k}:00Z`,
            recurrence: rule,
            allow_overlap: true,
          }),
        );
      }
      made.push(
        await makeAppointment(client, { calendar_id: cal.id, title: "once", start: "2026-10-25T00:30:00Z", end: "2026-10-25T03:00:00Z", allow_overlap: true }),
      );
    }
    const from = "2026-03-01T00:00:00Z";
    const to = "2026-11-15T00:00:00Z";
    const zoneOf = (a: any) => (a.calendar_id === london.id ? "Europe/London" : "America/New_York");
    const expected = made
      .flatMap((a) => {
        const rule = a.recurrence ? (parseRule(a.recurrence) as { ok: true; rule: any }).rule : null;
        return expand({ start: Date.parse(a.start), end: Date.parse(a.end), rule }, zoneOf(a), { from: Date.parse(from), to: Date.parse(to) }).occurrences.map(
          (o) => ({
            id: a.id,
            start: new Date(o.start).toISOString(),
          }),
        );
      })
      .sort((x, y) => x.start.localeCompare(y.start) || x.id.localeCompare(y.id));
    expect(expected.length).toBeGreaterThan(500);
    for (const limit of [13, 100]) {
      const listed = await listAll(client, `/appointments?from=${from}&to=${to}&limit=${limit}`);
      expect(listed.map((o) => ({ id: o.appointment_id, start: o.start }))).toEqual(expected);
    }
  }, 60_000);

  it("keeps the feed within 4 MiB of events, the latest starts first, and still valid iCalendar", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const attendees = Array.from({ length: 100 }, (_, i) => ({
      contact_id: null,
      email: `${"a".repeat(60)}.${i}@${"b".repeat(180)}.example`,
      name: `Attendee ${i} ${"ü".repeat(180)}`,
    }));
    const ids = await insertAppointments(
      org,
      cal,
      Array.from({ length: 120 }, (_, i) => ({
        title: `Big ${i}`,
        start: new Date(Date.UTC(2026, 0, 1 + i, 9)).toISOString(),
        end: new Date(Date.UTC(2026, 0, 1 + i, 10)).toISOString(),
        attendees,
      })),
    );
    const res = await client.get(`/calendars/${cal.id}/calendar.ics`);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBeLessThanOrEqual(4 * 1024 * 1024 + 4096);
    const events = new ICAL.Component(ICAL.parse(new TextDecoder().decode(bytes))).getAllSubcomponents("vevent");
    const uids = events.map((e) => e.getFirstPropertyValue("uid"));
    expect(events.length).toBeGreaterThan(10);
    expect(events.length).toBeLessThan(120);
    // The latest ones, in start order, and every attendee of each.
    expect(uids).toEqual(ids.slice(120 - events.length));
    expect(events[0]!.getAllProperties("attendee")).toHaveLength(100);
  }, 60_000);
});

describe("the helpers behind the bounds", () => {
  it("takes busy intervals out of free ones like a minute-by-minute check", () => {
    const next = random(7);
    for (let round = 0; round < 50; round++) {
      const free: Occurrence[] = [];
      for (let t = Math.floor(next() * 10); t < 400; ) {
        const length = 1 + Math.floor(next() * 40);
        free.push({ start: t, end: t + length });
        t += length + 1 + Math.floor(next() * 20);
      }
      const busy = Array.from({ length: Math.floor(next() * 60) }, () => {
        const start = Math.floor(next() * 420);
        return { start, end: start + 1 + Math.floor(next() * (next() < 0.1 ? 200 : 15)) };
      });
      const minutes = new Set<number>();
      for (const f of free) for (let m = f.start; m < f.end; m++) if (!busy.some((b) => b.start <= m && m < b.end)) minutes.add(m);
      const result = subtract(free, busy);
      const covered = new Set<number>();
      for (const r of result) {
        expect(r.start).toBeLessThan(r.end);
        for (let m = r.start; m < r.end; m++) covered.add(m);
      }
      expect([...covered].sort((x, y) => x - y)).toEqual([...minutes].sort((x, y) => x - y));
    }
  });

  it("knows each zone's offset exactly as Intl does, at any second of 1970 to 2199", () => {
    const next = random(3);
    const intl = (timeZone: string, ms: number) => {
      const parts: Record<string, number> = Object.fromEntries(
        new Intl.DateTimeFormat("en-US", {
          timeZone,
          hourCycle: "h23",
          year: "numeric",
          month: "numeric",
          day: "numeric",
          hour: "numeric",
          minute: "numeric",
          second: "numeric",
        })
          .formatToParts(new Date(ms))
          .filter((p) => p.type !== "literal")
          .map((p) => [p.type, Number(p.value)]),
      );
      return Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour! % 24, parts.minute, parts.second) - Math.floor(ms / 1000) * 1000;
    };
    const zones = [
      "Europe/London",
      "America/New_York",
      "Australia/Lord_Howe",
      "Pacific/Chatham",
      "Asia/Kolkata",
      "America/Sao_Paulo",
      "Africa/Casablanca",
      "Pacific/Apia",
      "UTC",
    ];
    for (const zone of zones) {
      for (let k = 0; k < 60; k++) {
        const ms = Math.floor(Date.UTC(1970, 0, 1) + next() * (Date.UTC(2200, 0, 1) - Date.UTC(1970, 0, 1)));
        expect(offsetAt(zone, ms), `${zone} ${new Date(ms).toISOString()}`).toBe(intl(zone, ms));
      }
      // Either side of each change of 2026, to the second.
      const changes = [
        Date.UTC(2026, 2, 29, 1),
        Date.UTC(2026, 9, 25, 1),
        Date.UTC(2026, 2, 8, 7),
        Date.UTC(2026, 10, 1, 6),
        Date.UTC(2026, 3, 4, 15),
        Date.UTC(2026, 8, 26, 14),
      ];
      for (const at of changes) for (const d of [-1001, -1000, -1, 0, 1, 999, 1000]) expect(offsetAt(zone, at + d)).toBe(intl(zone, at + d));
    }
  });

  it("expands a window the same as the whole series cut to that window", () => {
    const next = random(11);
    const rules = [
      "FREQ=DAILY",
      "FREQ=DAILY;COUNT=40",
      "FREQ=WEEKLY;BYDAY=TU,SU;UNTIL=20270301T000000Z",
      "FREQ=MONTHLY;BYDAY=-1SU",
      "FREQ=DAILY;INTERVAL=2;UNTIL=20261028",
    ];
    for (const zone of ["Europe/London", "America/New_York", "Pacific/Chatham"]) {
      for (const text of rules) {
        const rule = (parseRule(text) as { ok: true; rule: any }).rule;
        // 01:30 local on a Sunday: inside London's spring gap on 29 March 2026.
        const start = Date.UTC(2026, 0, 4, 1, 30);
        const series = { start, end: start + 150 * 60_000, rule };
        const all = expand(series, zone);
        for (let k = 0; k < 20; k++) {
          const from = start + Math.floor(next() * 800) * 86_400_000 * next();
          const to = from + Math.floor(next() * 90 * 86_400_000);
          const windowed = expand(series, zone, { from, to });
          expect(windowed.occurrences, `${zone} ${text}`).toEqual(all.occurrences.filter((o) => o.start < to && o.end > from));
        }
      }
    }
  });
});
