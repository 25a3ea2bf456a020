// Relationships: the platform's defaults, an organization's own, and what the catalog allows.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, type Account } from "./helpers";
import { as, clientWithRoles, type Row } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh relationships");
  api = as(admin.access_token);
});

const companyDocuments = {
  key: "documents",
  reverse_key: "companies",
  origin: { service: "crm", model: "companies" },
  related: { service: "documents", model: "files" },
  kind: "join_records",
};

async function listAll(client = api): Promise<Row[]> {
  const out: Row[] = [];
  let cursor: string | null = null;
  do {
    const res = await client.get(`/v1/mesh/relationships?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    const page = await res.json<Row>();
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

describe("the platform's defaults", () => {
  it("are in force for every organization, listed first, and cannot be deleted", async () => {
    const all = await listAll();
    const defaults = all.filter((r) => r.builtin);
    expect(defaults.map((r) => `${r.origin.model}.${r.key} <-> ${r.related.model}.${r.reverse_key} (${r.kind})`)).toEqual([
      "contacts.appointments <-> appointments.contacts (field)",
      "contacts.documents <-> files.contacts (join_records)",
      "companies.contacts <-> contacts.company (field)",
      "deals.contact <-> contacts.deals (field)",
      "contacts.consents <-> consents.contact (field)",
    ]);
    expect(defaults[0]).toMatchObject({ field: "attendees[].contact_id", field_on: "related" });
    expect(all.slice(0, 5)).toEqual(defaults);
    const del = await api.del(`/v1/mesh/relationships/${defaults[0]!.id}`);
    expect(del.status).toBe(409);
    await expectProblem(del);
    expect((await api.get(`/v1/mesh/relationships/${defaults[1]!.id}`)).status).toBe(200);
    // Not copied into the organization's data.
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM mesh_relationships WHERE organization_id = ?")
      .bind(admin.organization_id)
      .first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });
});

describe("an organization's own relationships", () => {
  it("create -> listed after the defaults -> usable in ?join= at once -> delete (with its join records)", async () => {
    const res = await api.post("/v1/mesh/relationships", companyDocuments);
    expect(res.status, await res.clone().text()).toBe(201);
    const rel = await res.json<Row>();
    expect(rel).toMatchObject({ ...companyDocuments, field: null, field_on: null, builtin: false });
    expect(res.headers.get("location")).toBe(`/v1/mesh/relationships/${rel.id}`);
    expect((await listAll()).map((r) => r.id).slice(5)).toEqual([rel.id]);

    const [company, file] = await Promise.all([api.company(), api.file()]);
    await api.link(rel.id, company.id, file.id);
    const joined = await (await api.get(`/v1/crm/companies/${company.id}?join=documents`)).json<Row>();
    expect(joined._embedded.documents.map((f: Row) => f.id)).toEqual([file.id]);
    const reverse = await (await api.get(`/v1/documents/files/${file.id}?join=companies,contacts`)).json<Row>();
    expect(reverse._embedded).toEqual({ companies: [expect.objectContaining({ id: company.id })], contacts: [] });

    expect((await api.del(`/v1/mesh/relationships/${rel.id}`)).status).toBe(204);
    expect((await api.get(`/v1/mesh/relationships/${rel.id}`)).status).toBe(404);
    const links = await env.DB.prepare("SELECT count(*) AS n FROM mesh_joins WHERE relationship_id = ?").bind(rel.id).first<{ n: number }>();
    expect(links!.n).toBe(0);
    expect((await api.get(`/v1/crm/companies/${company.id}?join=documents`)).status).toBe(422);
  });

  it("a field relationship finds the side holding the field", async () => {
    const res = await api.post("/v1/mesh/relationships", {
      key: "company_deals",
      reverse_key: "deal_company",
      origin: { service: "crm", model: "companies" },
      related: { service: "crm", model: "deals" },
      kind: "field",
      field: "company_id",
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const rel = await res.json<Row>();
    expect(rel).toMatchObject({ field: "company_id", field_on: "related" });
    const company = await api.company();
    const deal = await api.created("/v1/crm/deals", { title: "Field deal", amount: 5, currency: "EUR", company_id: company.id });
    const joined = await (await api.get(`/v1/crm/companies/${company.id}?join=company_deals`)).json<Row>();
    expect(joined._embedded.company_deals.map((d: Row) => d.id)).toEqual([deal.id]);
    const back = await (await api.get(`/v1/crm/deals/${deal.id}?join=deal_company`)).json<Row>();
    expect(back._embedded.deal_company.map((c: Row) => c.id)).toEqual([company.id]);
    expect((await api.del(`/v1/mesh/relationships/${rel.id}`)).status).toBe(204);
  });

  it("keys are unique per model, whichever side names them: 409", async () => {
    // contacts already has `documents` (a default).
    const taken = await api.post("/v1/mesh/relationships", { ...companyDocuments, origin: { service: "crm", model: "contacts" }, reverse_key: "people" });
    expect(taken.status).toBe(409);
    expect((await expectProblem(taken)).errors).toEqual([{ path: "key", message: "contacts already has a relationship named documents" }]);
    // files already has `contacts` as a reverse key (a default).
    const reverse = await api.post("/v1/mesh/relationships", { ...companyDocuments, reverse_key: "contacts" });
    expect(reverse.status).toBe(409);
    expect((await expectProblem(reverse)).errors).toEqual([{ path: "reverse_key", message: "files already has a relationship named contacts" }]);
    const first = await api.post("/v1/mesh/relationships", { ...companyDocuments, key: "files" });
    expect(first.status).toBe(201);
    const second = await api.post("/v1/mesh/relationships", { ...companyDocuments, key: "papers", reverse_key: "companies" });
    expect(second.status).toBe(409);
    expect((await api.del(`/v1/mesh/relationships/${(await first.json<Row>()).id}`)).status).toBe(204);
  });
});

describe("validation against the catalog", () => {
  const cases: [string, Row, { path: string; message: RegExp }][] = [
    ["an unknown service", { origin: { service: "billing", model: "invoices" } }, { path: "origin.service", message: /No service billing/ }],
    ["an unknown model", { related: { service: "documents", model: "pages" } }, { path: "related.model", message: /no model pages/ }],
    ["a key shadowing a field", { key: "name" }, { path: "key", message: /companies has a field named name/ }],
    ["a reverse key shadowing a field", { reverse_key: "tags" }, { path: "reverse_key", message: /files has a field named tags/ }],
    ["a field on a join_records relationship", { field: "company_id" }, { path: "field", message: /Only a field relationship/ }],
    ["a field relationship without a field", { kind: "field" }, { path: "field", message: /names the field/ }],
    ["a field neither model has", { kind: "field", field: "owner_id" }, { path: "field", message: /Neither companies nor files has a field owner_id/ }],
    [
      "a field that is not an id",
      { kind: "field", field: "name", related: { service: "crm", model: "contacts" }, reverse_key: "x_companies", field_on: "origin" },
      { path: "field", message: /not an id/ },
    ],
    [
      "a field that references another model",
      {
        kind: "field",
        field: "company_id",
        origin: { service: "crm", model: "deals" },
        related: { service: "crm", model: "contacts" },
        key: "x_contacts",
        reverse_key: "x_deals",
      },
      { path: "field", message: /references crm companies, not crm contacts/ },
    ],
    [
      "the same key twice on a model related to itself",
      { origin: { service: "crm", model: "contacts" }, related: { service: "crm", model: "contacts" }, key: "peers", reverse_key: "peers" },
      { path: "reverse_key", message: /must differ/ },
    ],
    [
      "a model the gateway holds (privacy's consents: their on_delete could not reach them)",
      { related: { service: "privacy", model: "consents" }, reverse_key: "x_companies" },
      { path: "related.service", message: /joined through the platform's relationships only/ },
    ],
  ];
  for (const [name, change, error] of cases) {
    it(`422 for ${name}`, async () => {
      const res = await api.post("/v1/mesh/relationships", { ...companyDocuments, ...change });
      expect(res.status, await res.clone().text()).toBe(422);
      const body = await expectProblem(res);
      expect(body.errors).toContainEqual({ path: error.path, message: expect.stringMatching(error.message) });
      expect(body.detail).toMatch(error.message);
    });
  }

  it("422 for a malformed key and for unknown properties", async () => {
    expect((await api.post("/v1/mesh/relationships", { ...companyDocuments, key: "Docs" })).status).toBe(422);
    expect((await api.post("/v1/mesh/relationships", { ...companyDocuments, key: "a".repeat(64) })).status).toBe(422);
    expect((await api.post("/v1/mesh/relationships", { ...companyDocuments, extra: 1 })).status).toBe(422);
  });
});

describe("who may do what", () => {
  it("only admins change relationships; anyone signed in lists them", async () => {
    const editor = as(await clientWithRoles(admin.access_token, ["editor"]));
    expect((await editor.post("/v1/mesh/relationships", companyDocuments)).status).toBe(403);
    const list = await editor.get("/v1/mesh/relationships");
    expect(list.status).toBe(200);
    const created = await api.post("/v1/mesh/relationships", companyDocuments);
    const rel = await created.json<Row>();
    expect((await editor.del(`/v1/mesh/relationships/${rel.id}`)).status).toBe(403);
    expect((await api.del(`/v1/mesh/relationships/${rel.id}`)).status).toBe(204);
    expect((await as("").get("/v1/mesh/relationships")).status).toBe(401);
  });

  it("another organization sees only the defaults, and not this organization's own", async () => {
    const created = await (await api.post("/v1/mesh/relationships", companyDocuments)).json<Row>();
    const other = as((await registerOrganization("Mesh relationships, other")).access_token);
    expect((await other.get(`/v1/mesh/relationships/${created.id}`)).status).toBe(404);
    expect((await other.del(`/v1/mesh/relationships/${created.id}`)).status).toBe(404);
    expect((await listAll(other)).every((r) => r.builtin)).toBe(true);
    // The same key is free in their organization.
    expect((await other.post("/v1/mesh/relationships", companyDocuments)).status).toBe(201);
    expect((await api.del(`/v1/mesh/relationships/${created.id}`)).status).toBe(204);
  });
});
