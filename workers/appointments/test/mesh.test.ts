// The data mesh's view of the appointments service: describe and findBy (by calendar, and by an attendee's CRM contact).
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { catalogMismatches, identity, queryPlan, recordingD1 } from "@buildly/shared/test";
import { models } from "../src/models";
import { freshOrg, makeAppointment, makeCalendar, rpc } from "./helpers";

const e = env as unknown as Env & { MIGRATION_DB: D1Database; TEST_MIGRATIONS: D1Migration[] };
const DB = e.DB;
const FIELD = "attendees[].contact_id";

let hour = 0;
/** A one-hour slot no other appointment of the test takes. */
function slot() {
  const start = Date.UTC(2027, 0, 1) + hour++ * 3600_000;
  return { start: new Date(start).toISOString(), end: new Date(start + 3600_000).toISOString() };
}

function attendee(contact_id: string | null, n = Math.random()) {
  return { contact_id, email: `p${n.toString(36).slice(2)}@example.com`, name: "P" };
}

const ids = (res: any) => (res.ok ? res.data.map((a: any) => a.id).sort() : res);

describe("describe (the appointments service's catalog)", () => {
  it("names calendars and appointments; an attendee's contact_id references crm.contacts and is a lookup", async () => {
    const catalog = await rpc.describe();
    expect(catalog.service).toBe("appointments");
    expect(catalog.models.map((m) => [m.name, m.path, m.title])).toEqual([
      ["calendars", "/calendars", "Calendar"],
      ["appointments", "/appointments", "Appointment"],
    ]);
    const fields = catalog.models[1]!.fields;
    expect(fields.map((f) => f.name)).toEqual([
      "id",
      "calendar_id",
      "title",
      "start",
      "end",
      "attendees",
      FIELD,
      "location",
      "status",
      "recurrence",
      "created_at",
      "updated_at",
    ]);
    expect(fields.find((f) => f.name === FIELD)).toEqual({
      name: FIELD,
      type: "uuid",
      nullable: true,
      references: { service: "crm", model: "contacts" },
      lookup: true,
    });
    expect(fields.find((f) => f.name === "calendar_id")).toEqual({
      name: "calendar_id",
      type: "uuid",
      references: { service: "appointments", model: "calendars" },
      lookup: true,
    });
    expect(fields.find((f) => f.name === "start")).toEqual({ name: "start", type: "datetime" });
  });

  it("agrees field for field with the OpenAPI document's component schemas (nested fields included)", async () => {
    const { client } = freshOrg();
    const doc = await (await client.get("/openapi.json")).json<any>();
    const components = { calendars: "Calendar", appointments: "Appointment" };
    expect(catalogMismatches(await rpc.describe(), doc, components)).toEqual([]);
    const broken = await rpc.describe();
    broken.models[1]!.fields.push({ name: "attendees[].phone", type: "string" });
    expect(catalogMismatches(broken, doc, components)).toEqual(["appointments.attendees[].phone: not in Appointment"]);
  });
});

describe("findBy attendees[].contact_id", () => {
  it("answers every contact in one call, at most perValue appointments each, newest first, within the organization", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const [ada, grace, alan] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const adas = [];
    for (let i = 0; i < 3; i++) adas.push(await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(ada)] }));
    const both = await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(grace), attendee(alan), attendee(null)] });
    await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(null)] });

    const newestAda = [...adas].sort((x, y) => (y.created_at === x.created_at ? (y.id > x.id ? 1 : -1) : y.created_at > x.created_at ? 1 : -1)).slice(0, 2);
    const res = await rpc.findBy("appointments", FIELD, [ada, grace, alan, crypto.randomUUID()], 2, identity(org));
    // `both` names two of the contacts asked for and comes once.
    expect(ids(res)).toEqual([...newestAda, both].map((a) => a.id).sort());
    expect((res as any).data.find((a: any) => a.id === both.id)).toEqual(both);

    const other = freshOrg();
    expect(await rpc.findBy("appointments", FIELD, [ada, grace], 50, identity(other.org))).toEqual({ ok: true, data: [] });
  });

  it("follows the appointment: an update that changes the attendees, and a delete", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const [ada, grace] = [crypto.randomUUID(), crypto.randomUUID()];
    const appt = await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(ada)] });
    expect(ids(await rpc.findBy("appointments", FIELD, [ada], 5, identity(org)))).toEqual([appt.id]);

    const res = await client.patch(`/appointments/${appt.id}`, { attendees: [attendee(grace)] });
    expect(res.status).toBe(200);
    expect(ids(await rpc.findBy("appointments", FIELD, [ada], 5, identity(org)))).toEqual([]);
    expect(ids(await rpc.findBy("appointments", FIELD, [grace], 5, identity(org)))).toEqual([appt.id]);

    expect((await client.delete(`/appointments/${appt.id}`)).status).toBe(204);
    expect(ids(await rpc.findBy("appointments", FIELD, [grace], 5, identity(org)))).toEqual([]);
    const left = await DB.prepare("SELECT count(*) AS n FROM appointment_contacts WHERE appointment_id = ?").bind(appt.id).first<{ n: number }>();
    expect(left?.n).toBe(0);

    // Deleting a calendar takes its appointments' rows with it.
    const again = await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(ada)] });
    expect((await client.delete(`/calendars/${cal.id}`)).status).toBe(204);
    expect(await DB.prepare("SELECT count(*) AS n FROM appointment_contacts WHERE appointment_id = ?").bind(again.id).first()).toEqual({ n: 0 });
  });

  it("answers each appointment exactly as the API does (fields, their order, nulls, a series, attendees), newest first", async () => {
    // findBy builds its records in SQL (models.ts): they must serialize to the same bytes as GET.
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const ada = crypto.randomUUID();
    await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(ada), attendee(null)] });
    await makeAppointment(client, {
      calendar_id: cal.id,
      ...slot(),
      title: 'Quotes " and \\ and émoji 📅',
      location: "Room 1",
      recurrence: "freq=weekly;count=3",
      attendees: [attendee(ada)],
    });
    const res = await rpc.findBy("appointments", FIELD, [ada], 5, identity(org));
    const byCalendar = await rpc.findBy("appointments", "calendar_id", [cal.id], 5, identity(org));
    if (!res.ok || !byCalendar.ok) throw new Error(JSON.stringify(res));
    expect(res.data).toHaveLength(2);
    expect(JSON.stringify(byCalendar.data)).toBe(JSON.stringify(res.data));
    const newestFirst = [...res.data].sort((x: any, y: any) => (y.created_at === x.created_at ? (y.id > x.id ? 1 : -1) : y.created_at > x.created_at ? 1 : -1));
    expect(res.data.map((a) => a.id)).toEqual(newestFirst.map((a) => a.id));
    for (const record of res.data) {
      const got = await client.get(`/appointments/${record.id}`);
      expect(JSON.stringify(record)).toBe(JSON.stringify(await got.json()));
    }
  });

  it("finds appointments by calendar", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const appt = await makeAppointment(client, { calendar_id: cal.id, ...slot() });
    expect(ids(await rpc.findBy("appointments", "calendar_id", [cal.id], 5, identity(org)))).toEqual([appt.id]);
    expect(ids(await rpc.findBy("appointments", "calendar_id", [cal.id], 5, identity()))).toEqual([]);
  });

  it("runs one query for 100 values, and each lookup searches an index", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const ada = crypto.randomUUID();
    await makeAppointment(client, { calendar_id: cal.id, ...slot(), attendees: [attendee(ada)] });
    const expected: Record<string, RegExp> = {
      [FIELD]: /SEARCH appointment_contacts USING (COVERING )?INDEX appointment_contacts_org_contact \(organization_id=\? AND contact_id=\?\)/,
      calendar_id: /SEARCH appointments USING (COVERING )?INDEX appointments_(org_calendar_created|calendar_range) \(organization_id=\? AND calendar_id=\?\)/,
    };
    for (const [field, loader] of Object.entries(models.appointments!.findBy!)) {
      const values = [field === FIELD ? ada : cal.id, ...Array.from({ length: 99 }, () => crypto.randomUUID())];
      const recorded = recordingD1(DB);
      expect(await loader({ ...e, DB: recorded.db }, org, values, 3)).toHaveLength(1);
      expect(recorded.statements.length, field).toBe(1);
      const plan = (await queryPlan(DB, recorded.statements[0]!)).join(" | ");
      expect(plan, field).toMatch(expected[field]!);
      expect(plan, field).not.toMatch(/SCAN (appointments|appointment_contacts)\b/);
    }
  });

  it("refuses an unknown model, a field that is not a lookup, malformed contact ids and a missing context", async () => {
    expect(await rpc.findBy("contacts", "id", [], 1, identity())).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await rpc.findBy("appointments", "attendees[].email", ["a@b.c"], 1, identity())).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBy("appointments", FIELD, ["ada"], 1, identity())).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBy("appointments", FIELD, [], 1, null)).toMatchObject({ ok: false, error: { status: 401 } });
  });
});

describe("migration 0003 over existing appointments", () => {
  it("backfills the contact lookup table from the attendees already stored", async () => {
    const db = e.MIGRATION_DB;
    const before = e.TEST_MIGRATIONS.filter((m) => m.name < "0003");
    expect(before.map((m) => m.name)).toEqual(["0001_calendars.sql", "0002_appointments.sql"]);
    await applyD1Migrations(db, before);
    const t = "2026-01-01T00:00:00.000Z";
    const [cal, a1, a2] = ["c0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"];
    const [ada, grace] = ["6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02"];
    const appt = db.prepare(
      "INSERT INTO appointments (id, organization_id, calendar_id, title, start_at, end_at, range_end, attendees, status, created_at, updated_at) VALUES (?, 'org-1', ?, 'x', ?, ?, ?, ?, 'scheduled', ?, ?)",
    );
    await db.batch([
      db
        .prepare(
          "INSERT INTO calendars (id, organization_id, name, time_zone, working_hours, created_at, updated_at) VALUES (?, 'org-1', 'c', 'UTC', '{}', ?, ?)",
        )
        .bind(cal, t, t),
      appt.bind(a1, cal, t, t, t, JSON.stringify([attendee(ada), attendee(grace), attendee(null)]), t, t),
      appt.bind(a2, cal, t, t, t, JSON.stringify([attendee(grace)]), t, t),
    ]);
    await applyD1Migrations(db, e.TEST_MIGRATIONS);
    const rows = await db.prepare("SELECT appointment_id, organization_id, contact_id FROM appointment_contacts ORDER BY appointment_id, contact_id").all();
    expect(rows.results).toEqual([
      { appointment_id: a1, organization_id: "org-1", contact_id: ada },
      { appointment_id: a1, organization_id: "org-1", contact_id: grace },
      { appointment_id: a2, organization_id: "org-1", contact_id: grace },
    ]);
  });
});

describe("search", () => {
  it("finds appointments by title (word prefixes), best first, within the organization; follows renames and deletes", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const word = `Kickoff${crypto.randomUUID().slice(0, 6)}`;
    const exact = await makeAppointment(client, { calendar_id: cal.id, ...slot(), title: word, location: "Room 1" });
    const longer = await makeAppointment(client, { calendar_id: cal.id, ...slot(), title: `Project ${word} with the whole team` });
    await makeAppointment(client, { calendar_id: cal.id, ...slot(), title: "Lunch" });

    const res = await rpc.search(word.toLowerCase(), [], 10, identity(org));
    expect(res.ok && res.data).toEqual([
      { id: exact.id, model: "appointments", type: "appointment", name: word, description: `${exact.start}, Room 1`, score: 1 },
      expect.objectContaining({ id: longer.id, description: longer.start }),
    ]);
    expect(await rpc.search(word, [], 10, identity(freshOrg().org))).toEqual({ ok: true, data: [] });
    expect(await rpc.search(word, ["calendars"], 10, identity(org))).toMatchObject({ ok: false, error: { status: 422 } });

    expect((await client.patch(`/appointments/${exact.id}`, { title: "Renamed" })).status).toBe(200);
    expect((await client.delete(`/appointments/${longer.id}`)).status).toBe(204);
    expect(await rpc.search(word, [], 10, identity(org))).toEqual({ ok: true, data: [] });
    const renamed = await rpc.search("renamed", [], 10, identity(org));
    expect(renamed.ok && renamed.data.map((h: any) => h.id)).toEqual([exact.id]);
  });

  it("reads one query, through the FTS index and the primary key", async () => {
    const { org } = freshOrg();
    const recorded = recordingD1(DB);
    await models.appointments!.search!({ ...e, DB: recorded.db }, org, "plan", 10);
    expect(recorded.statements.length).toBe(1);
    const plan = (await queryPlan(DB, recorded.statements[0]!)).join(" | ");
    expect(plan).toMatch(/SCAN appointments_fts VIRTUAL TABLE/);
    expect(plan).toMatch(/SEARCH a USING INDEX sqlite_autoindex_appointments_1 \(id=\?\)/);
  });
});
