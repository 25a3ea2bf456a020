import { describe, expect, it } from "vitest";
import { a, b, contactInput as contact, create, freshOrg, ids, json, listAll } from "./helpers";

describe("companies", () => {
  it("creates, reads, updates and deletes a company", async () => {
    const res = await a.post("/companies", {
      name: "  Analytical Engines Ltd ",
      domain: "Analytical.Example",
      tags: ["customer"],
      custom_fields: { employees: 120 },
    });
    expect(res.status).toBe(201);
    const co = await res.json<any>();
    expect(co).toMatchObject({ name: "Analytical Engines Ltd", domain: "analytical.example", tags: ["customer"], custom_fields: { employees: 120 } });
    expect(Object.keys(co).sort()).toEqual(["created_at", "custom_fields", "domain", "id", "name", "tags", "updated_at"]);
    expect(res.headers.get("location")).toBe(`/companies/${co.id}`);
    expect(await json(a.get(`/companies/${co.id}`))).toEqual(co);

    const updated = await json(a.patch(`/companies/${co.id}`, { domain: null, tags: [] }));
    expect(updated).toMatchObject({ id: co.id, name: co.name, domain: null, tags: [] });
    expect(await json(a.get(`/companies/${co.id}`))).toEqual(updated);

    expect((await a.delete(`/companies/${co.id}`)).status).toBe(204);
    expect((await a.get(`/companies/${co.id}`)).status).toBe(404);
    expect((await a.patch(`/companies/${co.id}`, { name: "x" })).status).toBe(404);
    expect((await a.delete(`/companies/${co.id}`)).status).toBe(404);
  });

  it("validates its input", async () => {
    for (const body of [
      {},
      { name: "" },
      { name: "X", domain: "not a domain" },
      { name: "X", domain: "https://x.example" },
      { name: "X", extra: 1 },
      { name: "X", custom_fields: { a: { b: 1 } } },
    ]) {
      const res = await a.post("/companies", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const co = await create(a, "/companies", { name: "Valid" });
    expect((await a.patch(`/companies/${co.id}`, {})).status).toBe(422);
    expect((await a.patch(`/companies/${co.id}`, { name: "   " })).status).toBe(422);
    expect((await a.raw("POST", "/companies", { body: "{", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await a.raw("POST", "/companies", { body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(415);
    expect((await a.get("/companies/123")).status).toBe(422);
    expect((await a.get("/companies?sort=tags")).status).toBe(422);
  });

  it("keeps organizations apart", async () => {
    const co = await create(a, "/companies", { name: "Private Co" });
    expect((await b.get(`/companies/${co.id}`)).status).toBe(404);
    expect((await b.patch(`/companies/${co.id}`, { name: "Stolen" })).status).toBe(404);
    expect((await b.delete(`/companies/${co.id}`)).status).toBe(404);
    expect(ids(await listAll(b, "/companies", 100))).not.toContain(co.id);
    expect((await json(a.get(`/companies/${co.id}`))).name).toBe("Private Co");
  });

  it("lists with a tag filter and sorts by name or domain (NULLs first ascending), paging consistently", async () => {
    const { client: c } = freshOrg();
    const made = [];
    for (const [name, domain] of [
      ["b corp", "b.example"],
      ["A corp", null],
      ["c corp", "a.example"],
      ["D corp", null],
      ["a2 corp", "c.example"],
    ] as const) {
      made.push(await create(c, "/companies", { name, domain, tags: name.startsWith("a") || name.startsWith("A") ? ["a"] : [] }));
    }
    expect((await listAll(c, "/companies?sort=name", 2)).map((x) => x.name)).toEqual(["A corp", "a2 corp", "b corp", "c corp", "D corp"]);
    expect((await listAll(c, "/companies?sort=-name", 2)).map((x) => x.name)).toEqual(["D corp", "c corp", "b corp", "a2 corp", "A corp"]);
    const byDomain = await listAll(c, "/companies?sort=domain", 1);
    expect(byDomain.map((x) => x.domain)).toEqual([null, null, "a.example", "b.example", "c.example"]);
    const nulls = made
      .filter((x) => x.domain === null)
      .map((x) => x.id)
      .sort();
    expect(ids(byDomain.slice(0, 2))).toEqual(nulls);
    const byDomainDesc = await listAll(c, "/companies?sort=-domain", 1);
    expect(ids(byDomainDesc)).toEqual(ids(byDomain).reverse());
    expect((await listAll(c, "/companies?tag=a&sort=name", 1)).map((x) => x.name)).toEqual(["A corp", "a2 corp"]);
  });

  it("refuses to delete a company with contacts or deals (409) unless contacts are detached; deals always block", async () => {
    const { client: c } = freshOrg();
    const co = await create(c, "/companies", { name: "Busy Co" });
    const p1 = await create(c, "/contacts", contact({ company_id: co.id }));
    const p2 = await create(c, "/contacts", contact({ company_id: co.id }));
    const deal = await create(c, "/deals", { title: "Big one", amount: 5000, currency: "EUR", company_id: co.id });
    const note = await create(c, "/activities", { type: "note", company_id: co.id, body: "company only" });
    const call = await create(c, "/activities", { type: "call", company_id: co.id, contact_id: p1.id, body: "company and contact" });

    const plain = await c.delete(`/companies/${co.id}`);
    expect(plain.status).toBe(409);
    expect(await plain.json<any>()).toMatchObject({ status: 409, deals: 1, contacts: 2 });
    const detached = await c.delete(`/companies/${co.id}?detach=contacts`);
    expect(detached.status).toBe(409);
    expect(await detached.json<any>()).toMatchObject({ deals: 1, contacts: 2 });
    // A refused delete changed nothing.
    expect((await json(c.get(`/contacts/${p1.id}`))).company_id).toBe(co.id);
    expect((await c.get(`/activities/${note.id}`)).status).toBe(200);

    expect((await c.patch(`/deals/${deal.id}`, { company_id: null })).status).toBe(200);
    const stillContacts = await c.delete(`/companies/${co.id}`);
    expect(stillContacts.status).toBe(409);
    expect(await stillContacts.json<any>()).toMatchObject({ deals: 0, contacts: 2 });
    expect((await c.get(`/activities/${note.id}`)).status).toBe(200);
    expect((await json(c.get(`/activities/${call.id}`))).company_id).toBe(co.id);
    expect((await c.delete(`/companies/${co.id}?detach=deals`)).status).toBe(422);

    expect((await c.delete(`/companies/${co.id}?detach=contacts`)).status).toBe(204);
    expect((await c.get(`/companies/${co.id}`)).status).toBe(404);
    for (const p of [p1, p2]) expect((await json(c.get(`/contacts/${p.id}`))).company_id).toBeNull();
    expect((await c.get(`/activities/${note.id}`)).status).toBe(404);
    expect(await json(c.get(`/activities/${call.id}`))).toMatchObject({ company_id: null, contact_id: p1.id });
  });

  it("deletes a company nothing refers to without detach", async () => {
    const { client: c } = freshOrg();
    const co = await create(c, "/companies", { name: "Lonely Co" });
    expect((await c.delete(`/companies/${co.id}`)).status).toBe(204);
    // detach on an unknown company is still a 404.
    expect((await c.delete(`/companies/${co.id}?detach=contacts`)).status).toBe(404);
  });
});
