// The data mesh over HTTP: joined reads in both directions and of both kinds, a forbidden embed,
// a joined write that fails midway and leaves nothing behind, and a second organization.
// Joined writes and the second organization's checks call through the SDK (typed `_embedded`);
// the joined reads keep raw calls, as they assert Server-Timing on each answer.
import type { Client } from "@buildly/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { anon, api, expectApiError, expectProblem, passwordToken, sdk, unique } from "./helpers";

type Row = Record<string, any>;
const PASSWORD = "a long enough password";

// The demo data (workers/*/seed/demo.sql): Ada attends two appointments and has two documents.
const ADA = "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01";
const ALAN = "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04";
const ADA_FILES = ["d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01", "d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02"];
const ADA_APPOINTMENTS = ["b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01", "b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c02"];

const ids = (rows: Row[]) => rows.map((r) => r.id).sort();

/** One call to a logic service per entry: `crm.handle`, `appointments.findBy`... */
function calls(res: Response): string[] {
  return (res.headers.get("server-timing") ?? "")
    .split(",")
    .filter(Boolean)
    .map((e) => {
      const m = /^\s*([a-z-]+);dur=[\d.]+;desc="(\w+)"\s*$/.exec(e);
      expect(m, e).not.toBeNull();
      return `${m![1]}.${m![2]}`;
    })
    .sort();
}

async function registerOrg(name: string) {
  const email = `${unique("mesh")}@e2e.example`;
  const res = await anon("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, name: "Owner", organization_name: name }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return passwordToken(email, PASSWORD);
}

function client(token: string) {
  const send = (path: string, init: RequestInit = {}) =>
    api(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
  const post = (path: string, body: unknown) => send(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = async (path: string, body: unknown) => {
    const res = await post(path, body);
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
    return (await res.json()) as Row;
  };
  return { send, post, created, json: async (path: string) => (await (await send(path)).json()) as Row };
}

describe("joined reads over HTTP", () => {
  it("the demo contacts come with their appointments and documents, in 1 + 2 calls", async () => {
    // The catalog (which model a path is) is read from the services once a minute; read it
    // first, so that only the join's own calls are counted.
    expect((await api("/v1/mesh/models")).status).toBe(200);
    const res = await api("/v1/crm/contacts?limit=100&join=appointments,documents");
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("true");
    expect(calls(res)).toEqual(["appointments.findBy", "crm.handle", "documents.getMany"]);
    const ada = ((await res.json()) as Row).data.find((c: Row) => c.id === ADA);
    // Other e2e files may link more files to her too (the console's test links one it uploads).
    expect(ids(ada._embedded.documents)).toEqual(expect.arrayContaining(ADA_FILES));
    // Other e2e files may book Ada into more appointments (the demo approval workflow does).
    expect(ids(ada._embedded.appointments)).toEqual(expect.arrayContaining(ADA_APPOINTMENTS));
    // The documents' tags say the same as the join records.
    for (const f of ada._embedded.documents.filter((f: Row) => ADA_FILES.includes(f.id))) expect(f.tags).toContain(`contact:${ADA}`);
  });

  it("one record, and the reverse of each kind", async () => {
    const alan = (await (await api(`/v1/crm/contacts/${ALAN}?join=documents,appointments`)).json()) as Row;
    expect(alan._embedded.documents.map((f: Row) => f.name)).toEqual(["nda-alan-turing.txt"]);
    expect(alan._embedded.appointments.length).toBeGreaterThanOrEqual(3);
    const file = (await (await api(`/v1/documents/files/${ADA_FILES[1]}?join=contacts`)).json()) as Row;
    expect(ids(file._embedded.contacts)).toEqual([ADA]);
    const appointment = (await (await api(`/v1/appointments/appointments/${ADA_APPOINTMENTS[0]}?join=contacts`)).json()) as Row;
    expect(ids(appointment._embedded.contacts)).toEqual([ADA, ALAN].sort());
  });

  it("a company's contacts and a contact's company; a deal's contact and a contact's deals", async () => {
    const me = client(await registerOrg("Mesh e2e fields"));
    const company = await me.created("/v1/crm/companies", { name: "Fields Inc" });
    const contact = await me.created("/v1/crm/contacts", {
      first_name: "Field",
      last_name: "Person",
      email: `${unique("f")}@example.com`,
      company_id: company.id,
    });
    const deal = await me.created("/v1/crm/deals", { title: "Field deal", amount: 100, currency: "USD", contact_id: contact.id });
    expect(ids((await me.json(`/v1/crm/companies/${company.id}?join=contacts`))._embedded.contacts)).toEqual([contact.id]);
    const c = await me.json(`/v1/crm/contacts?join=company,deals`);
    expect(c.data).toHaveLength(1);
    expect(ids(c.data[0]._embedded.company)).toEqual([company.id]);
    expect(ids(c.data[0]._embedded.deals)).toEqual([deal.id]);
    expect(ids((await me.json(`/v1/crm/deals?join=contact`)).data[0]._embedded.contact)).toEqual([contact.id]);
  });

  it("422 names an unknown join key", async () => {
    const body = await expectProblem(await api("/v1/crm/contacts?join=documents,invoices"), 422);
    expect(body.detail).toContain("invoices");
  });
});

describe("permissions", () => {
  it("a role without read on appointments gets the rest, and appointments named as forbidden", async () => {
    const adminToken = await registerOrg("Mesh e2e roles");
    const admin = client(adminToken);
    const contact = await admin.created("/v1/crm/contacts", { first_name: "Role", last_name: "Test", email: `${unique("r")}@example.com` });
    await admin.created("/v1/roles", { name: "crm-docs", permissions: { crm: ["read"], documents: ["read"] } });
    const robot = await admin.created("/v1/clients", { name: "mesh robot", roles: ["crm-docs"] });
    const tokenRes = await anon("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa(`${robot.client_id}:${robot.client_secret}`)}` },
      body: "grant_type=client_credentials",
    });
    const token = ((await tokenRes.json()) as Row).access_token as string;
    const res = await client(token).send(`/v1/crm/contacts/${contact.id}?join=appointments,documents`);
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("false");
    expect(calls(res).filter((c) => !c.endsWith(".describe"))).toEqual(["crm.handle"]);
    const body = (await res.json()) as Row;
    expect(body._embedded).toEqual({ documents: [] });
    expect(body._embedded_errors.appointments).toMatchObject({ status: 403, title: "Forbidden" });
  });
});

describe("joined writes over HTTP", () => {
  let me: ReturnType<typeof client>;
  let typed: Client;
  beforeAll(async () => {
    const token = await registerOrg("Mesh e2e writes");
    me = client(token);
    typed = sdk(token);
  });

  it("a company with two new contacts, read back with its contacts", async () => {
    const { data: company, response } = await typed.withResponse.POST("/v1/crm/companies", {
      params: { query: { join: "contacts" } },
      body: {
        name: "Written Ltd",
        _embedded: {
          contacts: [
            { first_name: "A", last_name: "One", email: `${unique("a")}@example.com` },
            { first_name: "B", last_name: "Two", email: `${unique("b")}@example.com` },
          ],
        },
      },
    });
    expect(response.status).toBe(201);
    expect(company._embedded?.contacts).toHaveLength(2);
    const read = await typed.GET("/v1/crm/companies/{id}", { params: { path: { id: company.id }, query: { join: "contacts" } } });
    expect(ids(read._embedded!.contacts!)).toEqual(ids(company._embedded!.contacts!));
  });

  it("fails midway and leaves nothing behind: the created contact and the company are deleted again", async () => {
    const marker = unique("doomed");
    const err = await expectApiError(
      typed.POST("/v1/crm/companies", {
        params: { query: { join: "contacts" } },
        body: {
          name: marker,
          _embedded: {
            contacts: [
              { first_name: "Kept", last_name: marker, email: `${marker}@example.com` },
              { first_name: "Bad", last_name: marker, email: "not an email" },
            ],
          },
        },
      }),
      422,
    );
    expect(err.problem.failed_step).toBe("create _embedded.contacts[1] (POST /v1/crm/contacts)");
    expect(err.errors).toEqual([expect.objectContaining({ path: "_embedded.contacts.1.email" })]);
    expect((await typed.GET("/v1/crm/companies", { params: { query: { q: marker } } })).data).toEqual([]);
    expect((await typed.GET("/v1/crm/contacts", { params: { query: { q: marker } } })).data).toEqual([]);
    expect((await typed.GET("/v1/crm/contacts", { params: { query: { limit: 100 } } })).data.map((c) => c.email)).not.toContain(`${marker}@example.com`);
  });

  it("a join record through POST /v1/mesh/joins shows at once, and goes when the record is deleted", async () => {
    const contact = await typed.POST("/v1/crm/contacts", { body: { first_name: "Linked", last_name: "Person", email: `${unique("l")}@example.com` } });
    // A file's body is its bytes (text/plain here), which the JSON client does not send.
    const upload = await me.send("/v1/documents/files?name=linked.txt", { method: "POST", headers: { "content-type": "text/plain" }, body: "linked" });
    const file = (await upload.json()) as Row;
    const join = await typed.POST("/v1/mesh/joins", { body: { relationship: "documents", origin_id: contact.id, related_id: file.id } });
    const withDocuments = { params: { path: { id: contact.id }, query: { join: "documents" } } };
    expect(ids((await typed.GET("/v1/crm/contacts/{id}", withDocuments))._embedded!.documents!)).toEqual([file.id]);
    expect((await typed.withResponse.DELETE("/v1/documents/files/{id}", { params: { path: { id: file.id } } })).response.status).toBe(204);
    await expectApiError(typed.GET("/v1/mesh/joins/{id}", { params: { path: { id: join.id } } }), 404);
    expect((await typed.GET("/v1/crm/contacts/{id}", withDocuments))._embedded!.documents).toEqual([]);
  });
});

describe("a second organization", () => {
  it("sees none of the demo organization's links or records", async () => {
    const other = sdk(await registerOrg("Mesh e2e other"));
    await expectApiError(other.GET("/v1/crm/contacts/{id}", { params: { path: { id: ADA }, query: { join: "documents" } } }), 404);
    expect((await other.GET("/v1/mesh/joins", { params: { query: { origin_id: ADA } } })).data).toEqual([]);
    expect((await other.GET("/v1/crm/contacts", { params: { query: { join: "documents,appointments" } } })).data).toEqual([]);
    const mine = await other.POST("/v1/crm/contacts", { body: { first_name: "Other", last_name: "Org", email: `${unique("o")}@example.com` } });
    // Ada's documents cannot be linked from here: they are not this organization's.
    await expectApiError(other.POST("/v1/mesh/joins", { body: { relationship: "documents", origin_id: mine.id, related_id: ADA_FILES[0]! } }), 404);
    const read = await other.GET("/v1/crm/contacts/{id}", { params: { path: { id: mine.id }, query: { join: "documents,appointments" } } });
    expect(read._embedded).toEqual({ documents: [], appointments: [] });
  });
});

describe("the OpenAPI document", () => {
  it("describes join, _embedded and the mesh headers on proxied operations, and the mesh's own routes", async () => {
    const doc = (await (await api("/openapi.json")).json()) as Row;
    const list = doc.paths["/v1/crm/contacts"].get;
    expect(list.parameters).toContainEqual({ $ref: "#/components/parameters/MeshJoin_crm_contacts" });
    expect(list.responses["200"].headers).toMatchObject({
      "Server-Timing": { $ref: "#/components/headers/MeshServerTiming" },
      "Mesh-Complete": { $ref: "#/components/headers/MeshComplete" },
    });
    expect(JSON.stringify(list.responses["200"].content["application/json"].schema)).toContain("#/components/schemas/MeshEmbedded");
    expect(doc.components.schemas.MeshEmbedded.properties).toHaveProperty("_embedded_errors");
    expect(doc.paths["/v1/crm/contacts"].post.parameters).toContainEqual({ $ref: "#/components/parameters/MeshJoin_crm_contacts" });
    expect(doc.paths["/v1/crm/contacts/{id}"].delete.parameters ?? []).not.toContainEqual({ $ref: "#/components/parameters/MeshJoin_crm_contacts" });
    for (const path of ["/v1/mesh/relationships", "/v1/mesh/relationships/{id}", "/v1/mesh/joins", "/v1/mesh/joins/{id}"])
      expect(doc.paths, path).toHaveProperty([path]);
  });
});
