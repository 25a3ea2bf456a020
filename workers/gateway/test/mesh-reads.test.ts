// Joined reads: ?join= on proxied GETs, both directions and both kinds, batched, permission-checked.
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, type Account } from "./helpers";
import { as, clientWithRoles, createRole, ids, serviceCalls, type Row } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;
let contacts: Row[];
let files: Row[];
let appointments: Row[];
let company: Row;

beforeAll(async () => {
  admin = await registerOrganization("Mesh reads");
  api = as(admin.access_token);
  company = await api.company();
  contacts = [];
  for (let i = 0; i < 5; i++) contacts.push(await api.contact(i < 2 ? { company_id: company.id } : {}));
  const calendar = await api.calendar();
  // contact 0 attends two meetings (one with contact 1); contact 4 attends none.
  appointments = [
    await api.appointment(calendar.id, [contacts[0]!, contacts[1]!], 1),
    await api.appointment(calendar.id, [contacts[0]!], 2),
    await api.appointment(calendar.id, [contacts[2]!], 3),
    await api.appointment(calendar.id, [contacts[3]!], 4),
  ];
  files = [await api.file(), await api.file(), await api.file()];
  await api.link("documents", contacts[0]!.id, files[0]!.id);
  await api.link("documents", contacts[0]!.id, files[1]!.id);
  await api.link("documents", contacts[2]!.id, files[1]!.id);
});

const byId = (rows: Row[]) => new Map(rows.map((r) => [r.id, r]));

/**
 * The catalog (which model a path is) is read from the services once a minute per isolate; a
 * request that reads it shows those describe() calls too. Counting tests read it first.
 */
async function warmCatalog() {
  expect((await api.get("/v1/mesh/models")).status).toBe(200);
}

describe("Server-Timing", () => {
  it("names the one call a plain proxied request makes", async () => {
    const res = await api.get("/v1/crm/contacts?limit=1");
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toMatch(/^crm;dur=\d+\.\d;desc="handle"$/);
    expect(res.headers.get("mesh-complete")).toBeNull();
  });

  it("is on error answers from a service too", async () => {
    const res = await api.get(`/v1/crm/contacts/${crypto.randomUUID()}`);
    expect(res.status).toBe(404);
    expect(serviceCalls(res)).toEqual([expect.objectContaining({ service: "crm", method: "handle" })]);
  });
});

describe("joined reads", () => {
  it("embeds both kinds on a page in 1 + K calls, never one per record", async () => {
    await warmCatalog();
    const res = await api.get("/v1/crm/contacts?limit=100&join=appointments,documents");
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("true");
    const calls = serviceCalls(res);
    expect(calls.map((c) => `${c.service}.${c.method}`).sort()).toEqual(["appointments.findBy", "crm.handle", "documents.getMany"]);

    const page = byId((await res.json<Row>()).data);
    const [c0, c1, c2, c3, c4] = contacts.map((c) => page.get(c.id)!);
    expect(ids(c0!._embedded.appointments)).toEqual(ids([appointments[0]!, appointments[1]!]));
    expect(ids(c1!._embedded.appointments)).toEqual([appointments[0]!.id]);
    expect(ids(c3!._embedded.appointments)).toEqual([appointments[3]!.id]);
    expect(c4!._embedded).toEqual({ appointments: [], documents: [] });
    expect(ids(c0!._embedded.documents)).toEqual(ids([files[0]!, files[1]!]));
    expect(ids(c2!._embedded.documents)).toEqual([files[1]!.id]);
    // The embedded records are the services' own representations.
    expect(c0!._embedded.documents[0]).toMatchObject({ name: expect.any(String), content_type: expect.stringMatching(/^text\/plain/) });
    expect(c0!._embedded_errors).toBeUndefined();
  });

  it("costs one more call per further key, whatever the page size", async () => {
    await warmCatalog();
    const res = await api.get("/v1/crm/contacts?limit=100&join=appointments,documents,deals,company");
    expect(res.status).toBe(200);
    // company: the contacts hold company_id -> crm.getMany; deals hold contact_id -> crm.findBy.
    expect(
      serviceCalls(res)
        .map((c) => `${c.service}.${c.method}`)
        .sort(),
    ).toEqual(["appointments.findBy", "crm.findBy", "crm.getMany", "crm.handle", "documents.getMany"]);
    const page = byId((await res.json<Row>()).data);
    expect(page.get(contacts[0]!.id)!._embedded.company.map((r: Row) => r.id)).toEqual([company.id]);
    expect(page.get(contacts[4]!.id)!._embedded.company).toEqual([]);
  });

  it("makes no call for a key with nothing to look up", async () => {
    await warmCatalog();
    const res = await api.get(`/v1/crm/contacts/${contacts[4]!.id}?join=company`);
    expect(res.status).toBe(200);
    expect(serviceCalls(res).map((c) => c.method)).toEqual(["handle"]);
    expect((await res.json<Row>())._embedded).toEqual({ company: [] });
  });

  it("embeds on one record, and both directions of each kind", async () => {
    const one = await (await api.get(`/v1/crm/contacts/${contacts[0]!.id}?join=appointments,documents`)).json<Row>();
    expect(one.id).toBe(contacts[0]!.id);
    expect(ids(one._embedded.appointments)).toEqual(ids([appointments[0]!, appointments[1]!]));
    expect(ids(one._embedded.documents)).toEqual(ids([files[0]!, files[1]!]));

    // join_records, reverse: a file's contacts.
    const file = await (await api.get(`/v1/documents/files/${files[1]!.id}?join=contacts`)).json<Row>();
    expect(ids(file._embedded.contacts)).toEqual(ids([contacts[0]!, contacts[2]!]));
    // field held by the related side, reverse: an appointment's attendees as contacts (getMany of attendees[].contact_id).
    await warmCatalog();
    const res = await api.get(`/v1/appointments/appointments/${appointments[0]!.id}?join=contacts`);
    expect(serviceCalls(res).map((c) => `${c.service}.${c.method}`)).toEqual(["appointments.handle", "crm.getMany"]);
    expect(ids((await res.json<Row>())._embedded.contacts)).toEqual(ids([contacts[0]!, contacts[1]!]));
    // field, forward from the model that does not hold it: a company's contacts (findBy company_id).
    const co = await (await api.get(`/v1/crm/companies/${company.id}?join=contacts`)).json<Row>();
    expect(ids(co._embedded.contacts)).toEqual(ids([contacts[0]!, contacts[1]!]));
    // A list of files, reverse join records.
    const list = await (await api.get(`/v1/documents/files?limit=100&join=contacts`)).json<Row>();
    expect(ids(byId(list.data).get(files[2]!.id)!._embedded.contacts)).toEqual([]);
    expect(ids(byId(list.data).get(files[0]!.id)!._embedded.contacts)).toEqual([contacts[0]!.id]);
  });

  it("embeds a deal's contact (the deal holds contact_id) and a contact's deals", async () => {
    const deal = await api.created("/v1/crm/deals", { title: "Mesh deal", amount: 1000, currency: "EUR", contact_id: contacts[3]!.id });
    const d = await (await api.get(`/v1/crm/deals/${deal.id}?join=contact`)).json<Row>();
    expect(ids(d._embedded.contact)).toEqual([contacts[3]!.id]);
    const c = await (await api.get(`/v1/crm/contacts/${contacts[3]!.id}?join=deals`)).json<Row>();
    expect(ids(c._embedded.deals)).toEqual([deal.id]);
  });

  it("shows a write at once: no cached records", async () => {
    const file = await api.file();
    const link = await api.link("documents", contacts[4]!.id, file.id);
    const after = await (await api.get(`/v1/crm/contacts/${contacts[4]!.id}?join=documents`)).json<Row>();
    expect(ids(after._embedded.documents)).toEqual([file.id]);
    const renamed = await api.patch(`/v1/documents/files/${file.id}`, { name: "renamed.txt" });
    expect(renamed.status).toBe(200);
    const again = await api.get(`/v1/crm/contacts/${contacts[4]!.id}?join=documents`);
    expect(again.headers.get("cache-control")).toBe("private, no-store");
    expect((await again.json<Row>())._embedded.documents[0].name).toBe("renamed.txt");
    expect((await api.del(`/v1/mesh/joins/${link.id}`)).status).toBe(204);
    const unlinked = await (await api.get(`/v1/crm/contacts/${contacts[4]!.id}?join=documents`)).json<Row>();
    expect(unlinked._embedded.documents).toEqual([]);
  });

  it("caps each related list at 20 and marks it", async () => {
    const contact = await api.contact();
    const many = await Promise.all(Array.from({ length: 21 }, () => api.file()));
    for (const f of many) await api.link("documents", contact.id, f.id);
    const body = await (await api.get(`/v1/crm/contacts/${contact.id}?join=documents`)).json<Row>();
    expect(body._embedded.documents).toHaveLength(20);
    expect(body._embedded_more).toEqual({ documents: true });
    // The rest: newest first, so the first link made is the one left out.
    expect(ids(body._embedded.documents)).not.toContain(many[0]!.id);
  });
});

describe("what join refuses", () => {
  it("422 names an unknown key and the keys that exist", async () => {
    await warmCatalog();
    const res = await api.get("/v1/crm/contacts?join=documents,nope");
    expect(res.status).toBe(422);
    const body = await expectProblem(res);
    expect(body.detail).toContain("nope");
    expect(body.detail).toContain("appointments");
    expect(body.errors).toEqual([{ path: "join", message: "Unknown relationship key nope" }]);
    // Refused before the service is asked.
    expect(res.headers.get("server-timing")).toBeNull();
  });

  it("422 for more than 5 keys, and on a path that is not a model's collection or record", async () => {
    expect((await api.get("/v1/crm/contacts?join=a,b,c,d,e,f")).status).toBe(422);
    const res = await api.get("/v1/crm/openapi.json?join=documents");
    expect(res.status).toBe(422);
    expect((await expectProblem(res)).errors[0].path).toBe("join");
  });

  it("422 for a join value that is not a list of keys (empty, blanks, empty keys), as the document's pattern says, on every method", async () => {
    await warmCatalog();
    for (const query of [
      "join=",
      "join=documents,",
      "join=,documents",
      "join=documents,,appointments",
      "join=%20documents",
      "join=documents%20",
      "join=Documents",
      "join=&join=documents",
    ]) {
      const res = await api.get(`/v1/crm/contacts?${query}`);
      expect(res.status, query).toBe(422);
      expect((await expectProblem(res)).errors, query).toEqual([{ path: "join", message: "Not a comma-separated list of relationship keys" }]);
      expect(res.headers.get("server-timing"), query).toBeNull();
    }
    const id = contacts[4]!.id;
    expect((await api.patch(`/v1/crm/contacts/${id}?join=`, { last_name: "Changed" })).status).toBe(422);
    expect((await api.post("/v1/crm/contacts?join=", { first_name: "No", last_name: "Join", email: "no-join@example.com" })).status).toBe(422);
    expect((await api.del(`/v1/crm/contacts/${id}?join=`)).status).toBe(422);
    // Nothing was written.
    expect(await (await api.get(`/v1/crm/contacts/${id}`)).json<Row>()).toMatchObject({ last_name: contacts[4]!.last_name });
  });

  it("still checks the caller may read the service first (403, not 422)", async () => {
    await createRole(admin.access_token, "docs-only", { documents: ["read"] });
    const token = await clientWithRoles(admin.access_token, ["docs-only"]);
    expect((await as(token).get("/v1/crm/contacts?join=nope")).status).toBe(403);
  });
});

describe("permissions on embedded records", () => {
  it("leaves out a service the caller may not read and names it as forbidden", async () => {
    await warmCatalog();
    await createRole(admin.access_token, "no-appointments", { crm: ["read"], documents: ["read"] });
    const token = await clientWithRoles(admin.access_token, ["no-appointments"]);
    const res = await as(token).get("/v1/crm/contacts?limit=100&join=appointments,documents");
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("false");
    // The appointments service is not even asked.
    expect(
      serviceCalls(res)
        .map((c) => c.service)
        .sort(),
    ).toEqual(["crm", "documents"]);
    const c0 = byId((await res.json<Row>()).data).get(contacts[0]!.id)!;
    expect(Object.keys(c0._embedded)).toEqual(["documents"]);
    expect(ids(c0._embedded.documents)).toEqual(ids([files[0]!, files[1]!]));
    expect(c0._embedded_errors.appointments).toMatchObject({ status: 403, title: "Forbidden", detail: expect.stringContaining("appointments") });
  });
});

describe("tenant isolation", () => {
  it("another organization sees none of the links, and cannot read the records by joining", async () => {
    const other = await registerOrganization("Mesh reads, other");
    const them = as(other.access_token);
    const theirs = await them.contact();
    const body = await (await them.get(`/v1/crm/contacts/${theirs.id}?join=documents,appointments`)).json<Row>();
    expect(body._embedded).toEqual({ documents: [], appointments: [] });
    expect((await them.get(`/v1/crm/contacts/${contacts[0]!.id}?join=documents`)).status).toBe(404);
    const list = await (await them.get("/v1/crm/contacts?limit=100&join=documents")).json<Row>();
    expect(list.data.map((r: Row) => r.id)).toEqual([theirs.id]);
  });
});
