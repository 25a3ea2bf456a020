import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectExactActorsUnderConcurrency, outboxOf, relayedOutbox, serviceClient } from "@buildly/shared/test";
import { rpc } from "./helpers";

const DB = (env as unknown as Env).DB;
const day = [{ start: "09:00", end: "17:00" }];
const WEEK = { mon: day, tue: day, wed: day, thu: day, fri: day, sat: [], sun: [] };

describe("events: the appointments outbox", () => {
  it("requests by different actors writing at once: each event names its own request's actor and request id", async () => {
    await expectExactActorsUnderConcurrency(rpc, DB, "/calendars", (i) => ({ name: `Desk ${i}`, time_zone: "Europe/London" }));
  });

  it("writes one event per change of a calendar or an appointment, also for the writes the calendar's Durable Object makes", async () => {
    const org = crypto.randomUUID();
    const c = serviceClient(rpc, org);
    const calendar = await (await c.post("/calendars", { name: "Desk", time_zone: "Europe/Paris", working_hours: WEEK })).json<any>();
    const moved = await (await c.patch(`/calendars/${calendar.id}`, { name: "Front desk" })).json<any>();
    const created = await c.post("/appointments", {
      calendar_id: calendar.id,
      title: "Checkup",
      start: "2027-03-01T09:00:00Z",
      end: "2027-03-01T09:30:00Z",
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const appt = await created.json<any>();
    const updated = await (await c.patch(`/appointments/${appt.id}`, { title: "Annual checkup" })).json<any>();
    // Overlaps the first: refused, and no event.
    const clash = await c.post("/appointments", { calendar_id: calendar.id, title: "Clash", start: "2027-03-01T09:10:00Z", end: "2027-03-01T09:20:00Z" });
    expect(clash.status).toBe(409);
    expect((await c.delete(`/appointments/${appt.id}`)).status).toBe(204);
    expect((await c.delete(`/calendars/${calendar.id}`)).status).toBe(204);

    const events = (await relayedOutbox(DB, org, 6)).map((r) => r.event);
    expect(events.map((e) => `${e.type} ${e.subject}`)).toEqual([
      `appointments.calendar.created ${calendar.id}`,
      `appointments.calendar.updated ${calendar.id}`,
      `appointments.appointment.created ${appt.id}`,
      `appointments.appointment.updated ${appt.id}`,
      `appointments.appointment.deleted ${appt.id}`,
      `appointments.calendar.deleted ${calendar.id}`,
    ]);
    expect(events[0]!.data).toEqual(calendar);
    expect(events[1]!.data).toEqual(moved);
    expect(events[2]!.data).toEqual(appt);
    expect(events[3]!.data).toEqual(updated);
    for (const e of events) expect(e).toMatchObject({ source: "/buildly/appointments", organizationid: org, actortype: "user" });
    expect(await outboxOf(DB, crypto.randomUUID())).toEqual([]);
  });
});
