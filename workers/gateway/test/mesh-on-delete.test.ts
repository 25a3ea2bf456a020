// A relationship's on_delete: what deleting a record does to other services' records naming it.
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, type Account } from "./helpers";
import { as, type Row } from "./mesh-records";
import { userWith } from "./mesh-helpers";

const attendeeIds = (appointment: Row) => (appointment.attendees as Row[]).map((a) => a.contact_id).sort();

/** A second relationship over the same field as the built-in one, with `on_delete`. */
async function meetings(api: ReturnType<typeof as>, on_delete: string) {
  return api.created("/v1/mesh/relationships", {
    key: "meetings",
    reverse_key: "people",
    origin: { service: "crm", model: "contacts" },
    related: { service: "appointments", model: "appointments" },
    kind: "field",
    field: "attendees[].contact_id",
    on_delete,
  });
}

describe("on_delete of the built-in contacts -> appointments relationship (set_null)", () => {
  let admin: Account;
  let api: ReturnType<typeof as>;
  // One calendar for the block: calendar creation is rate-limited per user.
  let calendar: Row;
  beforeAll(async () => {
    admin = await registerOrganization("On delete, set_null");
    api = as(admin.access_token);
    calendar = await api.calendar();
  });

  it("is listed with the relationships", async () => {
    const list = await (await api.get("/v1/mesh/relationships")).json<Row>();
    const byKey = Object.fromEntries((list.data as Row[]).map((r) => [`${r.origin.model}.${r.key}`, r.on_delete]));
    expect(byKey).toMatchObject({
      "contacts.appointments": "set_null",
      "contacts.documents": "unlink",
      "companies.contacts": "restrict",
      "deals.contact": "restrict",
    });
  });

  it("deleting a contact removes it from its appointments, which remain for the other attendees", async () => {
    const [ada, bob] = await Promise.all([api.contact(), api.contact()]);
    const meeting = await api.appointment(calendar.id, [ada, bob]);
    const alone = await api.appointment(calendar.id, [ada], 2);
    expect((await api.del(`/v1/crm/contacts/${ada.id}`)).status).toBe(204);
    expect((await api.get(`/v1/crm/contacts/${ada.id}`)).status).toBe(404);
    expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>())).toEqual([bob.id]);
    expect((await (await api.get(`/v1/appointments/appointments/${alone.id}`)).json<Row>()).attendees).toEqual([]);
  });

  it("clears the references whatever the spelling of the DELETE's path", async () => {
    for (const spelling of ["%63ontacts", "contact%73", "%63%6F%6e%74%61%63%74%73"]) {
      const [ada, bob] = await Promise.all([api.contact(), api.contact()]);
      const meeting = await api.appointment(calendar.id, [ada, bob]);
      expect((await api.del(`/v1/crm/${spelling}/${ada.id}`)).status, spelling).toBe(204);
      expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>()), spelling).toEqual([bob.id]);
    }
  });

  it("another organization deleting the same id changes nothing here", async () => {
    const ada = await api.contact();
    const meeting = await api.appointment(calendar.id, [ada]);
    const other = as((await registerOrganization("On delete, other")).access_token);
    expect((await other.del(`/v1/crm/contacts/${ada.id}`)).status).toBe(404);
    expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>())).toEqual([ada.id]);
    expect((await api.get(`/v1/crm/contacts/${ada.id}`)).status).toBe(200);
  });

  it("a delete the service refuses puts the cleared references back", async () => {
    const ada = await api.contact();
    const meeting = await api.appointment(calendar.id, [ada]);
    await api.created("/v1/crm/deals", { title: "Blocks the delete", amount: 100, currency: "EUR", contact_id: ada.id });
    const res = await api.del(`/v1/crm/contacts/${ada.id}`);
    expect(res.status).toBe(409);
    await expectProblem(res);
    expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>())).toEqual([ada.id]);
  });

  it("a caller who may delete contacts but not update appointments is refused, and nothing changes", async () => {
    const ada = await api.contact();
    const meeting = await api.appointment(calendar.id, [ada]);
    const token = await userWith(admin.access_token, { crm: ["read", "delete"], appointments: ["read"] });
    const res = await as(token).del(`/v1/crm/contacts/${ada.id}`);
    expect(res.status).toBe(403);
    expect((await expectProblem(res)).detail).toContain("update on the appointments service");
    expect((await api.get(`/v1/crm/contacts/${ada.id}`)).status).toBe(200);
    expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>())).toEqual([ada.id]);
  });

  it("more than 40 naming records refuse the delete before anything changes", async () => {
    const ada = await api.contact();
    const made: Row[] = [];
    for (let i = 0; i < 41; i++) made.push(await api.appointment(calendar.id, [ada], (i % 28) + 1));
    const res = await api.del(`/v1/crm/contacts/${ada.id}`);
    expect(res.status).toBe(409);
    const problem = await expectProblem(res);
    expect(problem.detail).toContain("More than 40");
    expect(problem.referring).toEqual([{ relationship: "appointments", service: "appointments", model: "appointments", count: 41 }]);
    expect((await api.get(`/v1/crm/contacts/${ada.id}`)).status).toBe(200);
    for (const m of [made[0]!, made[40]!]) expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${m.id}`)).json<Row>())).toEqual([ada.id]);
  }, 120_000);
});

describe("an organization's own relationship's on_delete", () => {
  it("restrict refuses the delete with the counts, and changes nothing", async () => {
    const api = as((await registerOrganization("On delete, restrict")).access_token);
    expect((await meetings(api, "restrict")).on_delete).toBe("restrict");
    const [ada, calendar] = await Promise.all([api.contact(), api.calendar()]);
    const meeting = await api.appointment(calendar.id, [ada]);
    const res = await api.del(`/v1/crm/contacts/${ada.id}`);
    expect(res.status).toBe(409);
    expect((await expectProblem(res)).referring).toEqual([{ relationship: "meetings", service: "appointments", model: "appointments", count: 1 }]);
    expect((await api.get(`/v1/crm/contacts/${ada.id}`)).status).toBe(200);
    expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>())).toEqual([ada.id]);
  });

  it("cascade deletes the naming records, within the organization only", async () => {
    const admin = await registerOrganization("On delete, cascade");
    const api = as(admin.access_token);
    await meetings(api, "cascade");
    const [ada, calendar] = await Promise.all([api.contact(), api.calendar()]);
    const meeting = await api.appointment(calendar.id, [ada]);
    const other = as((await registerOrganization("On delete, cascade, other")).access_token);
    await meetings(other, "cascade");
    expect((await other.del(`/v1/crm/contacts/${ada.id}`)).status).toBe(404);
    expect((await api.get(`/v1/appointments/appointments/${meeting.id}`)).status).toBe(200);

    // A caller who may not delete appointments cannot cascade.
    const limited = await userWith(admin.access_token, { crm: ["read", "delete"], appointments: ["read", "update"] });
    const refused = await as(limited).del(`/v1/crm/contacts/${ada.id}`);
    expect(refused.status).toBe(403);
    expect((await expectProblem(refused)).detail).toContain("delete on the appointments service");
    expect(attendeeIds(await (await api.get(`/v1/appointments/appointments/${meeting.id}`)).json<Row>())).toEqual([ada.id]);

    expect((await api.del(`/v1/crm/contacts/${ada.id}`)).status).toBe(204);
    expect((await api.get(`/v1/appointments/appointments/${meeting.id}`)).status).toBe(404);
  });

  it("on_delete must fit the kind; the default is stated by the answer", async () => {
    const api = as((await registerOrganization("On delete, validation")).access_token);
    const unlinkOnField = await api.post("/v1/mesh/relationships", {
      key: "meetings",
      reverse_key: "people",
      origin: { service: "crm", model: "contacts" },
      related: { service: "appointments", model: "appointments" },
      kind: "field",
      field: "attendees[].contact_id",
      on_delete: "unlink",
    });
    expect(unlinkOnField.status).toBe(422);
    expect((await expectProblem(unlinkOnField)).errors).toEqual([expect.objectContaining({ path: "on_delete" })]);
    const cascadeOnJoins = await api.post("/v1/mesh/relationships", {
      key: "files",
      reverse_key: "firms",
      origin: { service: "crm", model: "companies" },
      related: { service: "documents", model: "files" },
      kind: "join_records",
      on_delete: "cascade",
    });
    expect(cascadeOnJoins.status).toBe(422);
    const bogus = await api.post("/v1/mesh/relationships", {
      key: "files",
      reverse_key: "firms",
      origin: { service: "crm", model: "companies" },
      related: { service: "documents", model: "files" },
      kind: "join_records",
      on_delete: "explode",
    });
    expect(bogus.status).toBe(422);
    const joins = await api.created("/v1/mesh/relationships", {
      key: "files",
      reverse_key: "firms",
      origin: { service: "crm", model: "companies" },
      related: { service: "documents", model: "files" },
      kind: "join_records",
    });
    expect(joins.on_delete).toBe("unlink");
    expect((await meetings(api, "set_null")).on_delete).toBe("set_null");
  });
});
