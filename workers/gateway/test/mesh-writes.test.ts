// Joined writes: POST/PATCH with ?join= and _embedded, all or nothing.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, type Account } from "./helpers";
import { as, clientWithRoles, createRole, ids, serviceCalls, type Row } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh writes");
  api = as(admin.access_token);
});

const tag = () => crypto.randomUUID().slice(0, 8);
const newContact = (t: string, extra: Row = {}) => ({ first_name: "New", last_name: t, email: `new-${t}-${tag()}@example.com`, ...extra });

async function contactsNamed(t: string): Promise<Row[]> {
  const res = await api.get(`/v1/crm/contacts?limit=100&q=${t}`);
  expect(res.status).toBe(200);
  return (await res.json<Row>()).data;
}

async function companiesNamed(name: string): Promise<Row[]> {
  const res = await api.get(`/v1/crm/companies?limit=100&q=${encodeURIComponent(name)}`);
  expect(res.status).toBe(200);
  return (await res.json<Row>()).data;
}

describe("joined writes that succeed", () => {
  it("POST a company with new and existing contacts: the contacts point at it, the answer embeds them", async () => {
    const t = tag();
    const existing = await api.contact();
    const res = await api.post("/v1/crm/companies?join=contacts", { name: `Acme ${t}`, _embedded: { contacts: [newContact(t), { id: existing.id }] } });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(res.headers.get("location")).toMatch(/^\/v1\/crm\/companies\/[0-9a-f-]{36}$/);
    const company = await res.json<Row>();
    expect(company.name).toBe(`Acme ${t}`);
    expect(company._embedded.contacts).toHaveLength(2);
    for (const c of company._embedded.contacts) expect(c.company_id).toBe(company.id);
    expect(ids(company._embedded.contacts)).toContain(existing.id);
    // Nothing of _embedded reached the CRM's company record.
    expect((await (await api.get(`/v1/crm/companies/${company.id}`)).json<Row>())._embedded).toBeUndefined();
  });

  it("POST a contact linked to an existing file and a new deal pointing at it", async () => {
    const file = await api.file();
    const t = tag();
    const res = await api.post("/v1/crm/contacts?join=documents,deals", {
      ...newContact(t),
      _embedded: { documents: [{ id: file.id }], deals: [{ title: `Deal ${t}`, amount: 10, currency: "EUR" }] },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const contact = await res.json<Row>();
    expect(ids(contact._embedded.documents)).toEqual([file.id]);
    expect(contact._embedded.deals).toEqual([expect.objectContaining({ title: `Deal ${t}`, contact_id: contact.id })]);
    const joins = await (await api.get(`/v1/mesh/joins?origin_id=${contact.id}`)).json<Row>();
    expect(joins.data.map((j: Row) => j.related.id)).toEqual([file.id]);
    expect(
      serviceCalls(res)
        .filter((c) => c.method === "handle")
        .map((c) => c.service)
        .sort(),
    ).toEqual(["crm", "crm"]);
  });

  it("POST a deal with a new contact: the contact is created first and the deal holds its id", async () => {
    const t = tag();
    const res = await api.post("/v1/crm/deals?join=contact", { title: `Deal ${t}`, amount: 1, currency: "EUR", _embedded: { contact: [newContact(t)] } });
    expect(res.status, await res.clone().text()).toBe(201);
    const deal = await res.json<Row>();
    const [contact] = await contactsNamed(t);
    expect(deal.contact_id).toBe(contact!.id);
    expect(ids(deal._embedded.contact)).toEqual([contact!.id]);
  });

  it("PATCH a company and attach an existing contact; a join without _embedded only embeds", async () => {
    const company = await api.company();
    const contact = await api.contact();
    const res = await api.patch(`/v1/crm/companies/${company.id}?join=contacts`, { domain: "patched.example", _embedded: { contacts: [{ id: contact.id }] } });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json<Row>();
    expect(body.domain).toBe("patched.example");
    expect(ids(body._embedded.contacts)).toEqual([contact.id]);
    const plain = await api.patch(`/v1/crm/companies/${company.id}?join=contacts`, { domain: "again.example" });
    expect(plain.status).toBe(200);
    expect(ids((await plain.json<Row>())._embedded.contacts)).toEqual([contact.id]);
  });
});

describe("joined writes that fail leave nothing behind", () => {
  it("a related record the service refuses: the records created before it and the main record are deleted", async () => {
    const t = tag();
    const res = await api.post("/v1/crm/companies?join=contacts", {
      name: `Doomed ${t}`,
      _embedded: { contacts: [newContact(t), newContact(t, { email: "not-an-email" })] },
    });
    expect(res.status).toBe(422);
    const body = await expectProblem(res);
    expect(body.failed_step).toBe("create _embedded.contacts[1] (POST /v1/crm/contacts)");
    expect(body.errors).toEqual([expect.objectContaining({ path: "_embedded.contacts.1.email" })]);
    expect(body.not_undone).toBeUndefined();
    expect(await contactsNamed(t)).toEqual([]);
    expect(await companiesNamed(`Doomed ${t}`)).toEqual([]);
    // Created, then deleted: the calls show the undo.
    expect(serviceCalls(res).filter((c) => c.method === "handle")).toHaveLength(5);
  });

  it("a PATCH is put back when a later step fails", async () => {
    const company = await api.company();
    const t = tag();
    const res = await api.patch(`/v1/crm/companies/${company.id}?join=contacts`, {
      domain: "changed.example",
      _embedded: { contacts: [newContact(t, { phone: "nope" })] },
    });
    expect(res.status).toBe(422);
    expect((await expectProblem(res)).failed_step).toMatch(/^create _embedded\.contacts\[0\]/);
    expect((await (await api.get(`/v1/crm/companies/${company.id}`)).json<Row>()).domain).toBe(company.domain);
  });

  it("a PATCH that set the record's own field to a new related record is put back too", async () => {
    const rel = await api.created("/v1/mesh/relationships", {
      key: "deal_files",
      reverse_key: "file_deals",
      origin: { service: "crm", model: "deals" },
      related: { service: "documents", model: "files" },
      kind: "join_records",
    });
    const before = await api.contact();
    const deal = await api.created("/v1/crm/deals", { title: `Deal ${tag()}`, amount: 1, currency: "EUR", contact_id: before.id });
    const t = tag();
    // 1. a new contact (the deal will point at it), 2. the PATCH (contact_id and title), 3. a file
    // from JSON, which the documents service refuses: 2 and 1 are undone.
    const res = await api.patch(`/v1/crm/deals/${deal.id}?join=contact,deal_files`, {
      title: "Renamed",
      _embedded: { contact: [newContact(t)], deal_files: [{ name: "x.txt" }] },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await expectProblem(res)).failed_step).toMatch(/^create _embedded\.deal_files\[0\]/);
    const after = await (await api.get(`/v1/crm/deals/${deal.id}`)).json<Row>();
    expect(after).toMatchObject({ contact_id: before.id, title: deal.title });
    expect(await contactsNamed(t)).toEqual([]);
    expect((await api.del(`/v1/mesh/relationships/${rel.id}`)).status).toBe(204);
  });

  it("a contact repointed at the new company gets its old company back", async () => {
    const before = await api.company();
    const contact = await api.contact({ company_id: before.id });
    const t = tag();
    const res = await api.post("/v1/crm/companies?join=contacts", {
      name: `Fails ${t}`,
      _embedded: { contacts: [{ id: contact.id }, newContact(t, { email: "bad" })] },
    });
    expect(res.status).toBe(422);
    expect((await (await api.get(`/v1/crm/contacts/${contact.id}`)).json<Row>()).company_id).toBe(before.id);
    expect(await companiesNamed(`Fails ${t}`)).toEqual([]);
  });

  it("a file cannot be created from JSON: the new contact is deleted again and no join record remains", async () => {
    const t = tag();
    const res = await api.post("/v1/crm/contacts?join=documents", { ...newContact(t), _embedded: { documents: [{ name: "x.txt" }] } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await expectProblem(res)).failed_step).toMatch(/^create _embedded\.documents\[0\] \(POST \/v1\/documents\/files\)/);
    expect(await contactsNamed(t)).toEqual([]);
  });

  it("refuses before writing anything: unknown key, missing record, a list field, a forbidden service", async () => {
    const t = tag();
    const notJoined = await api.post("/v1/crm/contacts?join=documents", { ...newContact(t), _embedded: { deals: [] } });
    expect(notJoined.status).toBe(422);
    expect((await expectProblem(notJoined)).errors).toEqual([{ path: "_embedded.deals", message: "deals is not in ?join=" }]);
    const missing = await api.post("/v1/crm/contacts?join=documents", { ...newContact(t), _embedded: { documents: [{ id: crypto.randomUUID() }] } });
    expect(missing.status).toBe(422);
    expect((await expectProblem(missing)).errors[0].path).toBe("_embedded.documents.0.id");
    const nested = await api.post("/v1/crm/contacts?join=appointments", { ...newContact(t), _embedded: { appointments: [{ title: "x" }] } });
    expect(nested.status).toBe(422);
    expect((await expectProblem(nested)).errors[0].message).toContain("attendees[].contact_id");
    const twoForOne = await api.post("/v1/crm/deals?join=contact", {
      title: "x",
      amount: 1,
      currency: "EUR",
      _embedded: { contact: [newContact(t), newContact(t)] },
    });
    expect(twoForOne.status).toBe(422);
    await createRole(admin.access_token, "crm-writer", { crm: ["create", "read", "update"], documents: ["read"] });
    const writer = as(await clientWithRoles(admin.access_token, ["crm-writer"]));
    const forbidden = await writer.post("/v1/crm/contacts?join=documents", { ...newContact(t), _embedded: { documents: [{ name: "x" }] } });
    expect(forbidden.status).toBe(403);
    expect((await expectProblem(forbidden)).errors).toEqual([{ path: "_embedded.documents", message: "Needs create on the documents service" }]);
    expect(await contactsNamed(t)).toEqual([]);
  });

  it("with an Idempotency-Key the whole joined write runs once", async () => {
    const t = tag();
    const body = { name: `Once ${t}`, _embedded: { contacts: [newContact(t)] } };
    const key = { "idempotency-key": `mesh-${t}` };
    const first = await api.send("/v1/crm/companies?join=contacts", {
      method: "POST",
      headers: { "content-type": "application/json", ...key },
      body: JSON.stringify(body),
    });
    expect(first.status).toBe(201);
    const second = await api.send("/v1/crm/companies?join=contacts", {
      method: "POST",
      headers: { "content-type": "application/json", ...key },
      body: JSON.stringify(body),
    });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect((await second.json<Row>()).id).toBe((await first.json<Row>()).id);
    expect(await contactsNamed(t)).toHaveLength(1);
    expect(await companiesNamed(`Once ${t}`)).toHaveLength(1);
  });

  it("no join record is left when a joined write fails after linking was planned", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM mesh_joins").first<{ n: number }>();
    const t = tag();
    const file = await api.file();
    const res = await api.post("/v1/crm/contacts?join=documents,deals", {
      ...newContact(t),
      _embedded: { documents: [{ id: file.id }], deals: [{ title: "x", amount: -5, currency: "nope" }] },
    });
    expect(res.status).toBe(422);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM mesh_joins").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
    expect(await contactsNamed(t)).toEqual([]);
  });
});
