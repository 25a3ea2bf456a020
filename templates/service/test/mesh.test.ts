import { describe, expect, it } from "vitest";
import { catalogMismatches } from "@buildly/shared/test";
import { a, createItem, fresh, identity, ORG_A, ORG_B, rpc } from "./helpers";

describe("describe (the service's catalog)", () => {
  it("names the items model with its fields, its reference to the CRM's contacts and its lookup", async () => {
    const catalog = await rpc.describe();
    expect(catalog.service).toBe("__service__");
    expect(catalog.models.map((m) => [m.name, m.path, m.title, m.searchable])).toEqual([["items", "/items", "Item", true]]);
    const fields = catalog.models[0]!.fields;
    expect(fields.find((f) => f.name === "contact_id")).toEqual({
      name: "contact_id",
      type: "uuid",
      nullable: true,
      references: { service: "crm", model: "contacts" },
      lookup: true,
    });
    expect(fields.find((f) => f.name === "description")).toEqual({ name: "description", type: "text", nullable: true });
    const doc = await (await a.get("/openapi.json")).json<any>();
    expect(catalogMismatches(catalog, doc, { items: "Item" })).toEqual([]);
  });
});

describe("getMany, findBy and search (the data mesh's reads)", () => {
  it("getMany answers the organization's items among the ids, in one call", async () => {
    const { client, org } = fresh();
    const one = await createItem(client);
    const two = await createItem(client);
    const foreign = await createItem(a);
    const res = await rpc.getMany("items", [one.id, two.id, foreign.id, crypto.randomUUID()], identity(org));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.data.map((x) => x.id).sort()).toEqual([one.id, two.id].sort());
    expect(res.data.find((x) => x.id === one.id)).toEqual(one);
    const refused = await rpc.getMany("items", ["nope"], identity(org));
    expect(refused).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.getMany("gadgets", [one.id], identity(org))).toMatchObject({ ok: false, error: { status: 404 } });
  });

  it("findBy contact_id answers every value, newest first, at most perValue each, within the organization", async () => {
    const { client, org } = fresh();
    const [c1, c2] = [crypto.randomUUID(), crypto.randomUUID()];
    const first = await createItem(client, { contact_id: c1 });
    const second = await createItem(client, { contact_id: c1 });
    const third = await createItem(client, { contact_id: c2 });
    await createItem(a, { contact_id: c1 });
    const res = await rpc.findBy("items", "contact_id", [c1, c2], 5, identity(org));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.data.map((x) => x.id).sort()).toEqual([first.id, second.id, third.id].sort());
    const one = await rpc.findBy("items", "contact_id", [c1], 1, identity(org));
    expect(one.ok && one.data.length).toBe(1);
    expect(await rpc.findBy("items", "name", ["x"], 1, identity(org))).toMatchObject({ ok: false, error: { status: 422 } });
  });

  it("search finds items by name words within the organization, best first", async () => {
    const { client, org } = fresh();
    const exact = await createItem(client, { name: "Copper kettle" });
    const other = await createItem(client, { name: "Kettle stand", description: "for a copper kettle" });
    await createItem(client, { name: "Teapot" });
    await createItem(a, { name: "Copper kettle" });
    const res = await rpc.search("copper kettle", ["items"], 10, identity(org));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.data.map((h) => h.id)).toEqual([exact.id, other.id]);
    expect(res.data[0]).toMatchObject({ model: "items", type: "item", name: "Copper kettle", score: 1 });
    const none = await rpc.search("copper", ["items"], 10, identity(ORG_B));
    expect(none.ok && none.data.every((h) => h.id !== exact.id)).toBe(true);
  });
});

describe("privacy (the catalog's personal_data, findBySubject, eraseBySubject)", () => {
  it("declares the item's contact as personal data and erases it from the organization's items only", async () => {
    const catalog = await rpc.describe();
    expect(catalog.models[0]!.personal_data).toEqual({
      fields: ["contact_id"],
      found_by: { contact_id: "contact_id" },
      erasure: { action: "anonymize", replace: { contact_id: null } },
    });
    const { client, org } = fresh();
    const contact = crypto.randomUUID();
    const mine = await createItem(client, { contact_id: contact });
    const theirs = await createItem(a, { contact_id: contact });
    const subject = { emails: [], contact_ids: [contact], user_ids: [], linked: {} };
    const found = await rpc.findBySubject(subject, identity(org));
    expect(found.ok && found.data[0]!.records.map((r: { id: string }) => r.id)).toEqual([mine.id]);
    const run = await rpc.eraseBySubject(subject, { dry_run: false, held: {} }, identity(org));
    expect(run.ok && run.data[0]!.ids).toEqual([mine.id]);
    expect((await rpc.getMany("items", [mine.id], identity(org))).ok && (await rpc.getMany("items", [mine.id], identity(org)))).toMatchObject({
      data: [{ id: mine.id, contact_id: null }],
    });
    expect(await rpc.findBySubject(subject, identity(org))).toMatchObject({ ok: true, data: [{ records: [] }] });
    expect(await rpc.getMany("items", [theirs.id], identity(ORG_A))).toMatchObject({ ok: true, data: [{ contact_id: contact }] });
  });
});

describe("the RPC entrypoint", () => {
  it("refuses a call without a valid identity context, and reports its health from a real D1 query", async () => {
    const res = await rpc.handle(new Request("https://service.internal/items"), { organization_id: "nope" });
    expect(res.status).toBe(401);
    expect(await rpc.health()).toMatchObject({ service: "__service__", status: "ok", checks: { d1: "ok" } });
  });
});
