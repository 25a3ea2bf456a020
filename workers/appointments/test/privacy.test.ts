import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { identity } from "@buildly/shared/test";
import { freshOrg, makeAppointment, makeCalendar, rpc } from "./helpers";

const DB = (env as unknown as { DB: D1Database }).DB;
const subject = (over: Partial<{ emails: string[]; contact_ids: string[] }>) => ({ emails: [], contact_ids: [], user_ids: [], linked: {}, ...over });

describe("the appointments service's privacy declarations and subject RPCs", () => {
  it("declares attendees as personal data, found by email or contact id, removed on erasure", async () => {
    const catalog = await rpc.describe();
    const pd = Object.fromEntries(catalog.models.map((m) => [m.name, m.personal_data]));
    expect(pd.appointments).toEqual({
      fields: ["attendees[].contact_id", "attendees[].email", "attendees[].name"],
      found_by: { email: "attendees[].email", contact_id: "attendees[].contact_id" },
      erasure: { action: "anonymize", replace: { "attendees[]": null } },
    });
    expect(pd.calendars).toMatchObject({ found_by: {}, erasure: { action: "keep" } });
  });

  it("finds appointments by the attendee's contact id or email; erasure removes them from attendees and keeps the appointments for the others", async () => {
    const { org, client } = freshOrg();
    const other = freshOrg();
    const contact = crypto.randomUUID();
    const email = `grace.${crypto.randomUUID().slice(0, 8)}@navy.example`;
    const grace = { contact_id: contact, email, name: "Grace Hopper" };
    const alan = { email: "alan@example.com", name: "Alan Turing" };
    const cal = await makeCalendar(client);
    const weekly = await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-06-01T09:00:00Z",
      end: "2026-06-01T10:00:00Z",
      recurrence: "FREQ=WEEKLY;COUNT=4",
      attendees: [grace, alan],
    });
    const byEmail = await makeAppointment(client, {
      calendar_id: cal.id,
      start: "2026-06-02T09:00:00Z",
      end: "2026-06-02T10:00:00Z",
      attendees: [{ email: email.toUpperCase(), name: "G. Hopper" }],
    });
    const without = await makeAppointment(client, { calendar_id: cal.id, start: "2026-06-03T09:00:00Z", end: "2026-06-03T10:00:00Z", attendees: [alan] });
    const otherCal = await makeCalendar(other.client);
    const foreign = await makeAppointment(other.client, {
      calendar_id: otherCal.id,
      start: "2026-06-01T09:00:00Z",
      end: "2026-06-01T10:00:00Z",
      attendees: [grace],
    });

    const who = subject({ emails: [email], contact_ids: [contact] });
    const found = await rpc.findBySubject(who, identity(org));
    if (!found.ok) throw new Error(JSON.stringify(found.error));
    expect(found.data[0]!.records.map((r) => r.id).sort()).toEqual([weekly.id, byEmail.id].sort());

    const run = await rpc.eraseBySubject(who, { dry_run: false, held: {} }, identity(org));
    if (!run.ok) throw new Error(JSON.stringify(run.error));
    expect(run.data[0]).toMatchObject({ model: "appointments", action: "anonymize" });
    expect(run.data[0]!.ids.sort()).toEqual([weekly.id, byEmail.id].sort());
    const attendees = async (id: string) => JSON.parse(String(await DB.prepare("SELECT attendees FROM appointments WHERE id = ?").bind(id).first("attendees")));
    expect(await attendees(weekly.id)).toEqual([{ contact_id: null, ...alan }]);
    expect(await attendees(byEmail.id)).toEqual([]);
    expect(await attendees(without.id)).toEqual([{ contact_id: null, ...alan }]);
    expect(await DB.prepare("SELECT count(*) AS n FROM appointment_contacts WHERE organization_id = ? AND contact_id = ?").bind(org, contact).first("n")).toBe(
      0,
    );
    expect(await DB.prepare("SELECT count(*) AS n FROM outbox WHERE organization_id = ? AND lower(data) LIKE ?").bind(org, `%${email}%`).first("n")).toBe(0);
    // The series still answers through the API, for Alan.
    const series = await (await client.get(`/appointments/${weekly.id}`)).json<any>();
    expect(series).toMatchObject({ id: weekly.id, recurrence: weekly.recurrence, attendees: [{ contact_id: null, ...alan }] });
    // The other organization's appointment still lists the person.
    expect(await attendees(foreign.id)).toEqual([grace]);
    const none = await rpc.findBySubject(who, identity(org));
    expect(none.ok && none.data[0]!.records).toEqual([]);
  });
});
