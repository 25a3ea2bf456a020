// Join records: POST/GET/DELETE /v1/mesh/joins, and what happens when a linked record goes away.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, type Account } from "./helpers";
import { as, clientWithRoles, createRole, type Row } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh joins");
  api = as(admin.access_token);
});

async function linksInD1(id: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM mesh_joins WHERE origin_id = ?1 OR related_id = ?1").bind(id).first<{ n: number }>();
  return row!.n;
}

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe("POST /v1/mesh/joins", () => {
  it("links two records by relationship key or id; the same link twice is 409", async () => {
    const [contact, file] = await Promise.all([api.contact(), api.file()]);
    const res = await api.post("/v1/mesh/joins", { relationship: "documents", origin_id: contact.id, related_id: file.id });
    expect(res.status).toBe(201);
    const join = await res.json<Row>();
    expect(res.headers.get("location")).toBe(`/v1/mesh/joins/${join.id}`);
    expect(join).toMatchObject({
      relationship_id: "0e5e0000-0000-4000-8000-000000000002",
      relationship_key: "documents",
      origin: { service: "crm", model: "contacts", id: contact.id },
      related: { service: "documents", model: "files", id: file.id },
    });
    // Both records were checked with one getMany each.
    const calls = res.headers.get("server-timing")!;
    expect(calls).toContain("crm;dur=");
    expect(calls).toContain("documents;dur=");

    const again = await api.post("/v1/mesh/joins", { relationship: "0e5e0000-0000-4000-8000-000000000002", origin_id: contact.id, related_id: file.id });
    expect(again.status).toBe(409);
    await expectProblem(again);
    expect(await (await api.get(`/v1/mesh/joins/${join.id}`)).json<Row>()).toEqual(join);
  });

  it("404 when either record is not in the caller's organization", async () => {
    const [contact, file] = await Promise.all([api.contact(), api.file()]);
    const missing = await api.post("/v1/mesh/joins", { relationship: "documents", origin_id: crypto.randomUUID(), related_id: file.id });
    expect(missing.status).toBe(404);
    expect((await expectProblem(missing)).detail).toContain("origin_id");
    const other = as((await registerOrganization("Mesh joins, other")).access_token);
    const theirFile = await other.file();
    const foreign = await api.post("/v1/mesh/joins", { relationship: "documents", origin_id: contact.id, related_id: theirFile.id });
    expect(foreign.status).toBe(404);
    expect((await expectProblem(foreign)).detail).toContain("related_id");
    expect(await linksInD1(contact.id)).toBe(0);
  });

  it("422 for an unknown relationship or one of kind field", async () => {
    const [contact, file] = await Promise.all([api.contact(), api.file()]);
    const unknown = await api.post("/v1/mesh/joins", { relationship: "nope", origin_id: contact.id, related_id: file.id });
    expect(unknown.status).toBe(422);
    expect((await expectProblem(unknown)).errors).toEqual([{ path: "relationship", message: "Unknown relationship" }]);
    const field = await api.post("/v1/mesh/joins", { relationship: "appointments", origin_id: contact.id, related_id: file.id });
    expect(field.status).toBe(422);
    expect((await expectProblem(field)).detail).toContain("attendees[].contact_id");
    expect((await api.post("/v1/mesh/joins", { relationship: "documents", origin_id: "x", related_id: file.id })).status).toBe(422);
  });

  it("needs update on the origin's service and read on the related one", async () => {
    const [contact, file] = await Promise.all([api.contact(), api.file()]);
    const body = { relationship: "documents", origin_id: contact.id, related_id: file.id };
    const viewer = as(await clientWithRoles(admin.access_token, ["viewer"]));
    expect((await viewer.post("/v1/mesh/joins", body)).status).toBe(403);
    await createRole(admin.access_token, "crm-editor", { crm: ["read", "update"] });
    const crmOnly = as(await clientWithRoles(admin.access_token, ["crm-editor"]));
    const noRead = await crmOnly.post("/v1/mesh/joins", body);
    expect(noRead.status).toBe(403);
    expect((await expectProblem(noRead)).detail).toContain("documents");
    const editor = as(await clientWithRoles(admin.access_token, ["editor"]));
    const made = await editor.post("/v1/mesh/joins", body);
    expect(made.status).toBe(201);
    // A viewer may list it, not delete it.
    expect((await viewer.get(`/v1/mesh/joins?origin_id=${contact.id}`)).status).toBe(200);
    expect((await viewer.del(`/v1/mesh/joins/${(await made.json<Row>()).id}`)).status).toBe(403);
  });
});

describe("GET /v1/mesh/joins", () => {
  it("filters by relationship, origin and related id, newest first, a page at a time", async () => {
    const contact = await api.contact();
    const files = [await api.file(), await api.file(), await api.file()];
    for (const f of files) await api.link("documents", contact.id, f.id);
    const page1 = await (await api.get(`/v1/mesh/joins?relationship=documents&origin_id=${contact.id}&limit=2`)).json<Row>();
    expect(page1.data.map((j: Row) => j.related.id)).toEqual([files[2]!.id, files[1]!.id]);
    const page2 = await (await api.get(`/v1/mesh/joins?relationship=documents&origin_id=${contact.id}&limit=2&cursor=${page1.next_cursor}`)).json<Row>();
    expect(page2).toEqual({ data: [expect.objectContaining({ related: expect.objectContaining({ id: files[0]!.id }) })], next_cursor: null });
    const byRelated = await (await api.get(`/v1/mesh/joins?related_id=${files[1]!.id}`)).json<Row>();
    expect(byRelated.data.map((j: Row) => j.origin.id)).toEqual([contact.id]);
  });

  it("another organization sees none of them", async () => {
    const contact = await api.contact();
    const file = await api.file();
    const join = await api.link("documents", contact.id, file.id);
    const other = as((await registerOrganization("Mesh joins, isolation")).access_token);
    expect((await other.get(`/v1/mesh/joins/${join.id}`)).status).toBe(404);
    expect((await other.del(`/v1/mesh/joins/${join.id}`)).status).toBe(404);
    expect((await (await other.get(`/v1/mesh/joins?origin_id=${contact.id}`)).json<Row>()).data).toEqual([]);
    expect((await api.get(`/v1/mesh/joins/${join.id}`)).status).toBe(200);
  });
});

describe("when a linked record goes away", () => {
  it("deleting a record through the gateway removes its join records, at either end", async () => {
    const [contact, other, file] = await Promise.all([api.contact(), api.contact(), api.file()]);
    await api.link("documents", contact.id, file.id);
    await api.link("documents", other.id, file.id);
    expect(await linksInD1(file.id)).toBe(2);
    expect((await api.del(`/v1/crm/contacts/${contact.id}`)).status).toBe(204);
    expect(await linksInD1(contact.id)).toBe(0);
    expect(await linksInD1(file.id)).toBe(1);
    expect((await api.del(`/v1/documents/files/${file.id}`)).status).toBe(204);
    expect(await linksInD1(file.id)).toBe(0);
  });

  it("a failed DELETE removes nothing", async () => {
    const [contact, file] = await Promise.all([api.contact(), api.file()]);
    await api.link("documents", contact.id, file.id);
    const viewer = as(await clientWithRoles(admin.access_token, ["viewer"]));
    expect((await viewer.del(`/v1/crm/contacts/${contact.id}`)).status).toBe(403);
    expect((await api.del(`/v1/crm/contacts/${crypto.randomUUID()}`)).status).toBe(404);
    expect(await linksInD1(contact.id)).toBe(1);
  });

  it("a link to a record deleted some other way is never shown, and is cleaned up", async () => {
    const [contact, gone, kept] = await Promise.all([api.contact(), api.file(), api.file()]);
    const dead = await api.link("documents", contact.id, gone.id);
    await api.link("documents", contact.id, kept.id);
    // The documents service loses the file without the gateway knowing.
    await (Reflect.get(env, "DOCUMENTS_DB") as D1Database).prepare("DELETE FROM files WHERE id = ?").bind(gone.id).run();
    const body = await (await api.get(`/v1/crm/contacts/${contact.id}?join=documents`)).json<Row>();
    expect(body._embedded.documents.map((f: Row) => f.id)).toEqual([kept.id]);
    expect(await eventually(async () => (await linksInD1(gone.id)) === 0)).toBe(true);
    expect((await api.get(`/v1/mesh/joins/${dead.id}`)).status).toBe(404);
  });

  it("the joins list leaves out links whose record has vanished", async () => {
    const [contact, gone] = await Promise.all([api.contact(), api.file()]);
    const dead = await api.link("documents", contact.id, gone.id);
    await (Reflect.get(env, "DOCUMENTS_DB") as D1Database).prepare("DELETE FROM files WHERE id = ?").bind(gone.id).run();
    const list = await (await api.get(`/v1/mesh/joins?origin_id=${contact.id}`)).json<Row>();
    expect(list.data).toEqual([]);
    expect(await eventually(async () => (await env.DB.prepare("SELECT 1 FROM mesh_joins WHERE id = ?").bind(dead.id).first()) === null)).toBe(true);
  });
});
