// The OpenAPI document states what the handlers enforce: each keyword below is checked in the
// served /openapi.json, and where it is a rule, against what the server answers.
import { identity } from "@buildly/shared/test";
import { describe, expect, it } from "vitest";
import { freshOrg, makeAppointment, makeCalendar, rpc } from "./helpers";

async function openapi(): Promise<any> {
  const res = await rpc.handle(new Request("https://service.internal/openapi.json"), identity());
  expect(res.status).toBe(200);
  return res.json();
}

function param(doc: any, path: string, name: string) {
  return doc.paths[path].get.parameters.find((p: any) => p.name === name);
}

describe("the appointments service's OpenAPI document", () => {
  it("says every PATCH body needs a field to change (allow_overlap alone is not one), as the server does", async () => {
    const schemas = (await openapi()).components.schemas;
    expect(schemas.CalendarUpdate).toMatchObject({ type: "object", minProperties: 1, additionalProperties: false });
    expect(schemas.AppointmentUpdate).toMatchObject({
      type: "object",
      minProperties: 1,
      additionalProperties: false,
      not: { required: ["allow_overlap"], maxProperties: 1 },
    });
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const appt = await makeAppointment(client, { calendar_id: cal.id, start: "2026-06-01T09:00:00Z", end: "2026-06-01T10:00:00Z" });
    expect((await client.patch(`/calendars/${cal.id}`, {})).status).toBe(422);
    for (const body of [{}, { allow_overlap: true }, { allow_overlap: false }]) {
      expect((await client.patch(`/appointments/${appt.id}`, body)).status, JSON.stringify(body)).toBe(422);
    }
    expect((await client.patch(`/appointments/${appt.id}`, { allow_overlap: true, title: "Renamed" })).status).toBe(200);
  });

  it("types start, end and the from/to windows as RFC 3339 date-times, and says which go together", async () => {
    const doc = await openapi();
    for (const name of ["AppointmentCreate", "AppointmentUpdate"]) {
      for (const field of ["start", "end"])
        expect(doc.components.schemas[name].properties[field], `${name}.${field}`).toMatchObject({ type: "string", format: "date-time" });
    }
    for (const name of ["Appointment", "Occurrence", "Calendar", "Slot"]) {
      const props = doc.components.schemas[name].properties;
      for (const field of ["start", "end", "created_at", "updated_at"])
        if (props[field]) expect(props[field], `${name}.${field}`).toMatchObject({ format: "date-time" });
    }

    // GET /appointments: optional, but only together.
    for (const name of ["from", "to"]) {
      const p = param(doc, "/appointments", name);
      expect(p, name).toMatchObject({ in: "query", required: false, schema: { type: "string", format: "date-time" } });
      expect(p.description, name).toMatch(/Required together with `(from|to)`/);
    }
    const { client } = freshOrg();
    expect((await client.get("/appointments?from=2026-01-01T00:00:00Z")).status).toBe(422);
    expect((await client.get("/appointments?to=2026-01-01T00:00:00Z")).status).toBe(422);
    expect((await client.get("/appointments?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z")).status).toBe(200);
    expect((await client.get("/appointments?from=2026-01-01&to=2026-01-02")).status).toBe(422); // a date is not a date-time

    // Availability: both required.
    for (const name of ["from", "to"]) {
      expect(param(doc, "/calendars/{id}/availability", name), name).toMatchObject({ required: true, schema: { type: "string", format: "date-time" } });
    }
    const cal = await makeCalendar(client);
    expect((await client.get(`/calendars/${cal.id}/availability?from=2026-01-01T00:00:00Z`)).status).toBe(422);
  });

  it("states the caps the server enforces on windows, series and the feed", async () => {
    const doc = await openapi();
    expect(doc.paths["/appointments"].get.description).toMatch(/at most 5000 appointments/);
    expect(doc.paths["/calendars/{id}/availability"].get.description).toMatch(/at most 5000 scheduled appointments/);
    expect(doc.paths["/appointments"].post.description).toMatch(/at most 200 recurring appointments/);
    expect(doc.paths["/calendars/{id}/calendar.ics"].get.description).toMatch(/4 MiB/);
  });
});
