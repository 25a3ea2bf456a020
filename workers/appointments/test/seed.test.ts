// seed/demo.sql, applied to the test D1 as scripts/migrate.sh applies it, checked against the service's own rules.
import ICAL from "ical.js";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { serviceClient } from "@buildly/shared/test";
import demoSql from "../seed/demo.sql?raw";
import { expand } from "../src/lib/rrule";
import { OverlapSet, rangeEndOf, seriesOf, sweepOverlaps } from "../src/scheduling/series";
import { listAll, rpc } from "./helpers";

const DEMO_ORG = "00000000-0000-4000-8000-000000000001";
const SALES = "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01";
const SUPPORT = "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02";
const CONTACTS: Record<string, string> = {
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01": "ada@analytical.example",
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02": "grace@cobol.example",
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03": "katherine@orbits.example",
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04": "alan@bletchley.example",
};
const demo = serviceClient(rpc, DEMO_ORG);
const DB = (env as unknown as { DB: D1Database }).DB;

async function applySeed() {
  const statements = demoSql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const statement of statements) await DB.prepare(statement).run();
}

describe("demo data", () => {
  it("applies twice without adding anything and follows the service's rules", async () => {
    await applySeed();
    const first = await listAll(demo, "/appointments?limit=100");
    await applySeed();
    const second = await listAll(demo, "/appointments?limit=100");
    expect(second).toEqual(first);
    expect(first.length).toBeGreaterThanOrEqual(6);
    expect(new Set(first.map((x) => x.calendar_id))).toEqual(new Set([SALES, SUPPORT]));
    expect(new Set(first.map((x) => x.status))).toEqual(new Set(["scheduled", "cancelled", "completed"]));
    expect(first.filter((x) => x.recurrence?.startsWith("FREQ=WEEKLY"))).toHaveLength(1);

    // Attendees are the fixed CRM contacts, with their emails.
    for (const appt of first) {
      expect(appt.attendees.length, appt.title).toBeGreaterThan(0);
      for (const person of appt.attendees) expect(CONTACTS[person.contact_id], appt.title).toBe(person.email);
    }

    // The stored bounds are what the service would have written, and no scheduled ones overlap.
    const { results: rows } = await DB.prepare(
      "SELECT a.*, c.time_zone FROM appointments a JOIN calendars c ON c.id = a.calendar_id WHERE a.organization_id = ?",
    )
      .bind(DEMO_ORG)
      .all<any>();
    for (const row of rows) expect(row.range_end, row.title).toBe(rangeEndOf(seriesOf(row), row.time_zone));
    for (const calendar of [SALES, SUPPORT]) {
      const scheduled = rows.filter((r) => r.calendar_id === calendar && r.status === "scheduled");
      const timelines = scheduled.map((r) => expand(seriesOf(r), r.time_zone).occurrences);
      const pairs: string[] = [];
      // Every appointment counts as a mover, so pairs of one-offs are looked at too.
      sweepOverlaps(timelines, new OverlapSet(timelines.length, timelines.length), (i, _a, j) => pairs.push(`${scheduled[i].title} / ${scheduled[j].title}`));
      expect(pairs, calendar).toEqual([]);
    }
  });

  it("shows the weekly meeting at 09:30 London time and reads back as iCalendar", async () => {
    await applySeed();
    const march = await listAll(demo, `/appointments?calendar_id=${SALES}&from=2026-03-23T00:00:00Z&to=2026-04-07T00:00:00Z&status=scheduled`);
    expect(march.filter((o) => o.recurrence).map((o) => o.start)).toEqual(["2026-03-23T09:30:00.000Z", "2026-03-30T08:30:00.000Z", "2026-04-06T08:30:00.000Z"]);
    for (const calendar of [SALES, SUPPORT]) {
      const res = await demo.get(`/calendars/${calendar}/calendar.ics`);
      expect(res.status).toBe(200);
      const events = new ICAL.Component(ICAL.parse(await res.text())).getAllSubcomponents("vevent");
      expect(events.length).toBeGreaterThanOrEqual(3);
    }
    const free = await (await demo.get(`/calendars/${SALES}/availability?from=2026-03-30T00:00:00Z&to=2026-03-31T00:00:00Z&duration_minutes=30`)).json<any>();
    expect(free.slots.map((s: any) => [s.local_start, s.local_end])).toEqual([
      ["2026-03-30T09:00:00+01:00", "2026-03-30T09:30:00+01:00"],
      ["2026-03-30T10:00:00+01:00", "2026-03-30T17:00:00+01:00"],
    ]);
  });

  it("answers the README's worked example as it says", async () => {
    await applySeed();
    const booked = await demo.post("/appointments", {
      calendar_id: SALES,
      title: "Compiler Works: check-in",
      start: "2026-03-31T14:00:00+01:00",
      end: "2026-03-31T14:30:00+01:00",
      attendees: [{ contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02", email: "grace@cobol.example", name: "Grace Hopper" }],
      recurrence: "FREQ=WEEKLY;INTERVAL=2;COUNT=6",
    });
    expect(booked.status).toBe(201);
    const call = await booked.json<any>();
    expect(call).toMatchObject({ start: "2026-03-31T13:00:00.000Z", recurrence: "FREQ=WEEKLY;INTERVAL=2;COUNT=6" });
    const clash = await demo.post("/appointments", {
      calendar_id: SALES,
      title: "Clash",
      start: "2026-03-30T09:45:00+01:00",
      end: "2026-03-30T10:15:00+01:00",
    });
    expect(clash.status).toBe(409);
    expect((await clash.json<any>()).conflicts[0]).toMatchObject({
      appointment_id: "b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01",
      occurrence_start: "2026-03-30T08:30:00.000Z",
    });
    const april = await listAll(demo, `/appointments?calendar_id=${SALES}&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z&limit=100`);
    expect(april.filter((o) => o.appointment_id === call.id).map((o) => o.start)).toEqual(["2026-04-14T13:00:00.000Z", "2026-04-28T13:00:00.000Z"]);
    await demo.delete(`/appointments/${call.id}`);
  });
});
