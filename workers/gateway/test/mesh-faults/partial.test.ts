// A related service that fails or times out: the joined read still answers 200 with everything
// else, names the problem on the records concerned, and says Mesh-Complete: false.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { registerOrganization, type Account } from "../helpers";
import { as, ids, serviceCalls, type Row } from "../mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;
let contacts: Row[];
let file: Row;
let linksRelationship: Row;

beforeAll(async () => {
  admin = await registerOrganization("Mesh faults");
  api = as(admin.access_token);
  contacts = [await api.contact(), await api.contact()];
  file = await api.file();
  await api.link("documents", contacts[0]!.id, file.id);
  // faulty.things holds contact_id: reading contacts?join=things asks faulty.findBy (which hangs).
  await api.created("/v1/mesh/relationships", {
    key: "things",
    reverse_key: "thing_contacts",
    origin: { service: "crm", model: "contacts" },
    related: { service: "faulty", model: "things" },
    kind: "field",
    field: "contact_id",
  });
  // And join records to things: reading them asks faulty.getMany (which throws).
  linksRelationship = await api.created("/v1/mesh/relationships", {
    key: "linked_things",
    reverse_key: "linked_contacts",
    origin: { service: "crm", model: "contacts" },
    related: { service: "faulty", model: "things" },
    kind: "join_records",
  });
  // POST /v1/mesh/joins would ask the broken service whether the thing exists: store the link directly.
  await env.DB.prepare(
    `INSERT INTO mesh_joins (id, organization_id, relationship_id, origin_service, origin_model, origin_id, related_service, related_model, related_id, created_at)
     VALUES (?1, ?2, ?3, 'crm', 'contacts', ?4, 'faulty', 'things', ?5, ?6)`,
  )
    .bind(crypto.randomUUID(), admin.organization_id, linksRelationship.id, contacts[0]!.id, crypto.randomUUID(), new Date().toISOString())
    .run();
});

describe("partial answers", () => {
  it("a service past its deadline: 200, the other keys embedded, 504 named on each record", async () => {
    // The catalog is read once a minute per isolate; read it first so only the join's calls are counted.
    expect((await api.get("/v1/mesh/models")).status).toBe(200);
    const res = await api.get("/v1/crm/contacts?limit=100&join=things,documents");
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("false");
    // The failed call is still one entry of Server-Timing.
    expect(
      serviceCalls(res)
        .map((c) => `${c.service}.${c.method}`)
        .sort(),
    ).toEqual(["crm.handle", "documents.getMany", "faulty.findBy"]);
    const page = new Map(((await res.json<Row>()).data as Row[]).map((r) => [r.id, r]));
    for (const c of contacts) {
      const record = page.get(c.id)!;
      expect(Object.keys(record._embedded)).toEqual(["documents"]);
      expect(record._embedded_errors.things).toMatchObject({
        status: 504,
        title: "Gateway Timeout",
        service: "faulty",
        request_id: res.headers.get("x-request-id"),
      });
    }
    expect(ids(page.get(contacts[0]!.id)!._embedded.documents)).toEqual([file.id]);
  });

  it("a service that throws: 502 on the records that had links, nothing internal shown, the others complete", async () => {
    const res = await api.get("/v1/crm/contacts?limit=100&join=linked_things,documents");
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("false");
    const text = await res.text();
    expect(text).not.toContain("on fire");
    const page = new Map((JSON.parse(text).data as Row[]).map((r) => [r.id, r]));
    const linked = page.get(contacts[0]!.id)!;
    expect(linked._embedded_errors.linked_things).toMatchObject({ status: 502, detail: "The faulty service failed to answer." });
    expect(ids(linked._embedded.documents)).toEqual([file.id]);
    // The other contact has no link: nothing to ask, nothing missing.
    const other = page.get(contacts[1]!.id)!;
    expect(other._embedded).toEqual({ linked_things: [], documents: [] });
    expect(other._embedded_errors).toBeUndefined();
    // A failed read is no proof the record is gone: the link stays.
    const row = await env.DB.prepare("SELECT count(*) AS n FROM mesh_joins WHERE relationship_id = ?").bind(linksRelationship.id).first<{ n: number }>();
    expect(row!.n).toBe(1);
  });

  it("one record: the same partial answer, never a 5xx", async () => {
    const res = await api.get(`/v1/crm/contacts/${contacts[0]!.id}?join=things,linked_things,documents`);
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("false");
    const body = await res.json<Row>();
    expect(Object.keys(body._embedded)).toEqual(["documents"]);
    expect(Object.keys(body._embedded_errors).sort()).toEqual(["linked_things", "things"]);
  });

  it("the joins list keeps links it could not check, and says so", async () => {
    const res = await api.get(`/v1/mesh/joins?relationship=linked_things`);
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("false");
    expect((await res.json<Row>()).data).toHaveLength(1);
  });
});
