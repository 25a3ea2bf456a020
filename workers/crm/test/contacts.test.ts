import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { a, b, contactInput as contact, create, freshOrg, identity, ids, json, listAll, rpc } from "./helpers";

describe("contacts", () => {
  it("creates, reads, updates and deletes a contact in D1", async () => {
    const company = await create(a, "/companies", { name: "Analytical Engines" });
    const created = await a.post(
      "/contacts",
      contact({ phone: "+442079460000", tags: ["vip", "vip"], company_id: company.id, custom_fields: { newsletter: true, score: 7, language: "en" } }),
    );
    expect(created.status).toBe(201);
    const body = await created.json<any>();
    expect(body).toMatchObject({
      first_name: "Ada",
      phone: "+442079460000",
      tags: ["vip"],
      company_id: company.id,
      custom_fields: { newsletter: true, score: 7, language: "en" },
    });
    expect(body).not.toHaveProperty("organization_id");
    expect(body).not.toHaveProperty("rid");
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(created.headers.get("location")).toBe(`/contacts/${body.id}`);

    const read = await a.get(`/contacts/${body.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(body);

    const updated = await a.patch(`/contacts/${body.id}`, { last_name: "King", company_id: null, custom_fields: { newsletter: false } });
    expect(updated.status).toBe(200);
    const after = await updated.json<any>();
    expect(after).toMatchObject({ id: body.id, last_name: "King", company_id: null, custom_fields: { newsletter: false } });
    expect(after.updated_at >= body.updated_at).toBe(true);
    expect(await json(a.get(`/contacts/${body.id}`))).toEqual(after);

    expect((await a.delete(`/contacts/${body.id}`)).status).toBe(204);
    expect((await a.get(`/contacts/${body.id}`)).status).toBe(404);
    expect((await a.delete(`/contacts/${body.id}`)).status).toBe(404);
    expect((await a.patch(`/contacts/${body.id}`, { first_name: "Ghost" })).status).toBe(404);
  });

  it("keeps emails unique within an organization, case-insensitively", async () => {
    const c = contact({ email: `Grace.${crypto.randomUUID()}@Example.com` });
    const first = await create(a, "/contacts", c);
    expect(first.email).toBe(c.email.toLowerCase());
    const dup = await a.post("/contacts", { ...c, email: c.email.toUpperCase() });
    expect(dup.status).toBe(409);
    expect(dup.headers.get("content-type")).toBe("application/problem+json");
    expect((await dup.json<any>()).errors).toEqual([{ path: "email", message: "Already in use" }]);
    // Changing another contact's email to it conflicts too.
    const other = await create(a, "/contacts", contact());
    expect((await a.patch(`/contacts/${other.id}`, { email: c.email.toUpperCase() })).status).toBe(409);
    // Another organization may use the same address.
    expect((await b.post("/contacts", c)).status).toBe(201);
  });

  it("hides other organizations' contacts as if they did not exist", async () => {
    const id = (await create(a, "/contacts", contact())).id;
    const missing = await b.get(`/contacts/${id}`);
    expect(missing.status).toBe(404);
    const unknown = await b.get(`/contacts/${crypto.randomUUID()}`);
    expect((await missing.json<any>()).detail).toBe((await unknown.json<any>()).detail);
    expect((await b.patch(`/contacts/${id}`, { first_name: "Mallory" })).status).toBe(404);
    expect((await b.delete(`/contacts/${id}`)).status).toBe(404);
    const listed = await listAll(b, "/contacts", 100);
    expect(ids(listed)).not.toContain(id);
    const readBack = await json(a.get(`/contacts/${id}`));
    expect(readBack.first_name).toBe("Ada");
  });

  it("only links a company of the same organization (422 otherwise, like a missing one)", async () => {
    const theirs = await create(b, "/companies", { name: "Other Org Ltd" });
    const ours = await create(a, "/companies", { name: "Our Org Ltd" });
    for (const company_id of [theirs.id, crypto.randomUUID()]) {
      const res = await a.post("/contacts", contact({ company_id }));
      expect(res.status).toBe(422);
      const problem = await res.json<any>();
      expect(problem.errors).toEqual([{ path: "company_id", message: "No company with this id exists in this organization" }]);
      expect(JSON.stringify(problem)).not.toContain("Other Org");
    }
    const mine = await create(a, "/contacts", contact({ company_id: ours.id }));
    const moved = await a.patch(`/contacts/${mine.id}`, { company_id: theirs.id });
    expect(moved.status).toBe(422);
    expect((await moved.json<any>()).errors[0].path).toBe("company_id");
    expect((await json(a.get(`/contacts/${mine.id}`))).company_id).toBe(ours.id);
  });

  it("pages through a list with an opaque cursor", async () => {
    const { client: c } = freshOrg();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create(c, "/contacts", contact())).id);
    expect(ids(await listAll(c, "/contacts", 2))).toEqual(made);
    const first = await json(c.get("/contacts"));
    expect(first.data).toHaveLength(5);
    expect(first.next_cursor).toBeNull();
    const two = await json(c.get("/contacts?limit=2"));
    expect(two.next_cursor).toEqual(expect.any(String));
    expect(two.next_cursor).not.toContain(made[1]); // opaque: base64url, not the raw key
  });

  it("filters by tag and by company", async () => {
    const { client: c } = freshOrg();
    const co = await create(c, "/companies", { name: "Tagged Co" });
    const vip = await create(c, "/contacts", contact({ tags: ["vip"], company_id: co.id }));
    const other = await create(c, "/contacts", contact({ tags: ["other"] }));
    const byTag = await json(c.get("/contacts?tag=vip"));
    expect(ids(byTag.data)).toEqual([vip.id]);
    expect(ids((await json(c.get(`/contacts?company_id=${co.id}`))).data)).toEqual([vip.id]);
    expect(ids((await json(c.get(`/contacts?company_id=${co.id}&tag=other`))).data)).toEqual([]);
    expect(ids((await json(c.get("/contacts?tag=other"))).data)).toEqual([other.id]);
    expect((await c.get("/contacts?company_id=nope")).status).toBe(422);
  });

  it("sorts on allowed fields only, case-insensitively for names", async () => {
    const { client: c } = freshOrg();
    for (const last of ["beta", "Alpha", "gamma", "Delta"]) await create(c, "/contacts", contact({ last_name: last }));
    const asc = await json(c.get("/contacts?sort=last_name"));
    expect(asc.data.map((x: any) => x.last_name)).toEqual(["Alpha", "beta", "Delta", "gamma"]);
    const desc = await json(c.get("/contacts?sort=-last_name"));
    expect(desc.data.map((x: any) => x.last_name)).toEqual(["gamma", "Delta", "beta", "Alpha"]);
    for (const bad of ["password", "-custom_fields", "last_name;drop", "--last_name", "tags"]) {
      const res = await c.get(`/contacts?sort=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(422);
      expect((await res.json<any>()).errors[0].path).toBe("query.sort");
    }
    // A cursor only continues the sort it was issued for.
    const page = await json(c.get("/contacts?sort=last_name&limit=1"));
    expect((await c.get(`/contacts?sort=first_name&limit=1&cursor=${page.next_cursor}`)).status).toBe(422);
    expect((await c.get(`/contacts?sort=last_name&limit=1&cursor=${page.next_cursor}`)).status).toBe(200);
  });

  it("validates custom fields: flat, typed, bounded", async () => {
    const bad = [
      { nested: { a: 1 } },
      { list: [1, 2] },
      { nothing: null },
      { __proto__x: 1 },
      { "has space": "x" },
      Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])),
      Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, "x".repeat(500)])),
      "not an object",
    ];
    for (const custom_fields of bad) {
      const res = await a.post("/contacts", contact({ custom_fields }));
      expect(res.status, JSON.stringify(custom_fields).slice(0, 60)).toBe(422);
      expect((await res.json<any>()).errors[0].path).toMatch(/^custom_fields/);
    }
    const proto = await a.raw("POST", "/contacts", {
      headers: { "content-type": "application/json" },
      body: `{"first_name":"A","last_name":"B","email":"proto${crypto.randomUUID()}@example.com","custom_fields":{"__proto__":{"admin":true}}}`,
    });
    // zod drops a "__proto__" key: nothing is stored and no prototype is touched.
    expect(proto.status).toBe(201);
    const stored = await proto.json<any>();
    expect(stored.custom_fields).toEqual({});
    expect(Object.getPrototypeOf(stored.custom_fields)).toBe(Object.prototype);
    expect(({} as any).admin).toBeUndefined();
    const ok = await create(a, "/contacts", contact({ custom_fields: { tier: "gold", seats: 12.5, active: false } }));
    expect(ok.custom_fields).toEqual({ tier: "gold", seats: 12.5, active: false });
  });

  it("refuses to delete a contact deals refer to, and cleans up its activities", async () => {
    const { client: c } = freshOrg();
    const person = await create(c, "/contacts", contact());
    const co = await create(c, "/companies", { name: "Keep Co" });
    const deal = await create(c, "/deals", { title: "Deal", amount: 100, currency: "EUR", contact_id: person.id });
    const onlyHers = await create(c, "/activities", { type: "note", contact_id: person.id, body: "only linked to the contact" });
    const shared = await create(c, "/activities", { type: "call", contact_id: person.id, company_id: co.id, body: "also linked to the company" });

    const refused = await c.delete(`/contacts/${person.id}`);
    expect(refused.status).toBe(409);
    expect(await refused.json<any>()).toMatchObject({ status: 409, deals: 1 });
    // Nothing changed.
    expect((await c.get(`/activities/${onlyHers.id}`)).status).toBe(200);
    expect((await json(c.get(`/activities/${shared.id}`))).contact_id).toBe(person.id);

    expect((await c.patch(`/deals/${deal.id}`, { contact_id: null })).status).toBe(200);
    expect((await c.delete(`/contacts/${person.id}`)).status).toBe(204);
    expect((await c.get(`/activities/${onlyHers.id}`)).status).toBe(404);
    expect(await json(c.get(`/activities/${shared.id}`))).toMatchObject({ contact_id: null, company_id: co.id });
  });

  it("answers bad input with problem+json", async () => {
    const bad = await a.post("/contacts", { first_name: "", email: "not-an-email", phone: "123" });
    expect(bad.status).toBe(422);
    const problem = await bad.json<any>();
    expect(problem).toMatchObject({ status: 422, title: "Unprocessable Content" });
    expect(problem.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(["first_name", "last_name", "email", "phone"]));
    expect((await a.post("/contacts", contact({ company: "free text is gone" }))).status).toBe(422);
    expect((await a.post("/contacts", contact({ phone: "+44 20 7946 0000" }))).status).toBe(422);
    expect((await a.post("/contacts", contact({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }))).status).toBe(422);
    const someone = await create(a, "/contacts", contact());
    expect((await a.patch(`/contacts/${someone.id}`, {})).status).toBe(422);

    expect((await a.raw("POST", "/contacts", { body: "{nope", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await a.raw("POST", "/contacts", { body: "x", headers: { "content-type": "text/plain" } })).status).toBe(415);
    const huge = JSON.stringify({ ...contact(), first_name: "x".repeat(70 * 1024) });
    expect((await a.raw("POST", "/contacts", { body: huge, headers: { "content-type": "application/json" } })).status).toBe(413);
    expect((await a.get("/contacts/not-a-uuid")).status).toBe(422);
    expect((await a.get("/contacts?limit=0")).status).toBe(422);
    expect((await a.get("/contacts?limit=101")).status).toBe(422);
    expect((await a.get("/contacts?cursor=garbage")).status).toBe(422);
    const wrongMethod = await a.raw("PUT", "/contacts");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, POST");
    expect((await a.get("/nowhere")).status).toBe(404);
  });

  it("refuses calls without a valid identity context, and any direct HTTP call", async () => {
    const noCtx = await rpc.handle(new Request("https://service.internal/contacts"), { request_id: "x" });
    expect(noCtx.status).toBe(401);
    const direct = await (exports as any).default.fetch("https://crm.example/contacts");
    expect(direct.status).toBe(401);
    expect(direct.headers.get("content-type")).toBe("application/problem+json");
  });

  it("reports health from a real D1 query and serves its OpenAPI 3.1", async () => {
    expect(await rpc.health()).toEqual({ service: "crm", status: "ok", checks: { d1: "ok" } });
    const doc = await (await rpc.handle(new Request("https://service.internal/openapi.json"), identity())).json<any>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/contacts",
        "/contacts/{id}",
        "/companies",
        "/companies/{id}",
        "/deals",
        "/deals/{id}",
        "/pipelines",
        "/pipelines/{id}",
        "/activities",
        "/activities/{id}",
      ]),
    );
    // Every request body and response schema carries an example.
    for (const [name, schema] of Object.entries<any>(doc.components.schemas)) {
      if (name === "Problem") continue;
      expect(schema.example ?? schema.examples, `${name} has no example`).toBeDefined();
    }
  });
});
