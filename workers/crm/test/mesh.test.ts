import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { catalogMismatches, queryPlan, recordingD1 } from "@buildly/shared/test";
import { models } from "../src/models";
import { ORG_B, a, contactInput, create, freshOrg, identity, json, rpc } from "./helpers";

const DB = (env as unknown as { DB: D1Database }).DB;

/** Newest first, as findBy orders: created_at, then id, descending. */
const newest = (rows: any[]) => [...rows].sort((x, y) => (y.created_at === x.created_at ? (y.id > x.id ? 1 : -1) : y.created_at > x.created_at ? 1 : -1));

describe("describe (the CRM's catalog)", () => {
  it("names every model with its path, fields, references and lookups", async () => {
    const catalog = await rpc.describe();
    expect(catalog.service).toBe("crm");
    expect(catalog.models.map((m) => [m.name, m.path, m.title, m.searchable])).toEqual([
      ["contacts", "/contacts", "Contact", expect.any(Boolean)],
      ["companies", "/companies", "Company", expect.any(Boolean)],
      ["deals", "/deals", "Deal", expect.any(Boolean)],
      ["pipelines", "/pipelines", "Pipeline", expect.any(Boolean)],
      ["activities", "/activities", "Activity", expect.any(Boolean)],
    ]);
    const field = (model: string, name: string) => catalog.models.find((m) => m.name === model)!.fields.find((f) => f.name === name);
    expect(field("contacts", "company_id")).toEqual({
      name: "company_id",
      type: "uuid",
      nullable: true,
      references: { service: "crm", model: "companies" },
      lookup: true,
    });
    expect(field("contacts", "email")).toEqual({ name: "email", type: "string" });
    expect(field("deals", "amount")).toEqual({ name: "amount", type: "integer" });
    expect(field("deals", "pipeline_id")).toMatchObject({ references: { service: "crm", model: "pipelines" }, lookup: true });
    expect(field("deals", "expected_close_date")).toEqual({ name: "expected_close_date", type: "date", nullable: true });
    expect(field("activities", "deal_id")).toMatchObject({ references: { service: "crm", model: "deals" }, lookup: true });
    expect(field("pipelines", "stages")).toEqual({ name: "stages", type: "array" });
    expect(field("contacts", "created_at")).toEqual({ name: "created_at", type: "datetime" });
    const lookups = catalog.models.flatMap((m) => m.fields.filter((f) => f.lookup).map((f) => `${m.name}.${f.name}`));
    expect(lookups).toEqual([
      "contacts.company_id",
      "deals.pipeline_id",
      "deals.contact_id",
      "deals.company_id",
      "activities.contact_id",
      "activities.company_id",
      "activities.deal_id",
    ]);
    // Every reference is a lookup here (all within the CRM), and names a model the catalog has.
    for (const m of catalog.models) for (const f of m.fields) if (f.references) expect(catalog.models.map((x) => x.name)).toContain(f.references.model);
  });

  it("agrees field for field with the OpenAPI document's component schemas", async () => {
    const doc = await json(a.get("/openapi.json"));
    const components = { contacts: "Contact", companies: "Company", deals: "Deal", pipelines: "Pipeline", activities: "Activity" };
    expect(catalogMismatches(await rpc.describe(), doc, components)).toEqual([]);
    // The check itself notices a field that is not there.
    const broken = await rpc.describe();
    broken.models[0]!.fields.push({ name: "nickname", type: "string" });
    expect(catalogMismatches(broken, doc, components)).toEqual(["contacts.nickname: not in Contact"]);
    broken.models[0]!.fields = broken.models[0]!.fields.filter((f) => f.name !== "email" && f.name !== "nickname");
    expect(catalogMismatches(broken, doc, components)).toEqual(["contacts: Contact.email is not in the catalog"]);
  });
});

describe("findBy (the reverse side of a reference)", () => {
  it("answers every value in one call, newest first, at most perValue each, within the organization", async () => {
    const { client, org: clientOrg } = freshOrg();
    const co1 = await create(client, "/companies", { name: "One" });
    const co2 = await create(client, "/companies", { name: "Two" });
    const of1 = [];
    for (let i = 0; i < 4; i++) of1.push(await create(client, "/contacts", contactInput({ company_id: co1.id })));
    const of2 = await create(client, "/contacts", contactInput({ company_id: co2.id }));
    await create(client, "/contacts", contactInput());

    const res = await rpc.findBy("contacts", "company_id", [co1.id, co2.id, crypto.randomUUID(), co1.id], 2, identity(clientOrg));
    expect(res.ok).toBe(true);
    const data = (res as { data: any[] }).data;
    expect(new Set(data.map((c) => c.id))).toEqual(new Set([...newest(of1).slice(0, 2), of2].map((c) => c.id)));
    // Shaped as the API shows a contact.
    expect(data.find((c) => c.id === of2.id)).toEqual(await json(client.get(`/contacts/${of2.id}`)));

    // Another organization asking for the same companies sees nothing.
    expect(await rpc.findBy("contacts", "company_id", [co1.id, co2.id], 50, identity(ORG_B))).toEqual({ ok: true, data: [] });
    expect(await rpc.findBy("contacts", "company_id", [], 5, identity(clientOrg))).toEqual({ ok: true, data: [] });
  });

  it("finds deals and activities by each of their references", async () => {
    const { client, org: clientOrg } = freshOrg();
    const co = await create(client, "/companies", { name: "Co" });
    const person = await create(client, "/contacts", contactInput({ company_id: co.id }));
    const pipeline = (await json(client.get("/pipelines"))).data[0];
    const deal = await create(client, "/deals", { title: "D", amount: 5, currency: "EUR", contact_id: person.id, company_id: co.id });
    const note = await create(client, "/activities", { type: "note", deal_id: deal.id, contact_id: person.id, company_id: co.id, body: "n" });
    const cases: [string, string, string, string][] = [
      ["deals", "contact_id", person.id, deal.id],
      ["deals", "company_id", co.id, deal.id],
      ["deals", "pipeline_id", pipeline.id, deal.id],
      ["activities", "contact_id", person.id, note.id],
      ["activities", "company_id", co.id, note.id],
      ["activities", "deal_id", deal.id, note.id],
    ];
    for (const [model, field, value, id] of cases) {
      const res = await rpc.findBy(model, field, [value], 10, identity(clientOrg));
      expect(res.ok && res.data.map((r: any) => r.id), `${model}.${field}`).toEqual([id]);
    }
  });

  it("runs one query for 100 values, and every lookup searches an index", async () => {
    const { client, org: clientOrg } = freshOrg();
    const co = await create(client, "/companies", { name: "Idx" });
    await create(client, "/contacts", contactInput({ company_id: co.id }));
    const values = [co.id, ...Array.from({ length: 99 }, () => crypto.randomUUID())];
    for (const [name, model] of Object.entries(models)) {
      for (const [field, loader] of Object.entries(model.findBy ?? {})) {
        const recorded = recordingD1(DB);
        const rows = await loader({ ...(env as unknown as Env), DB: recorded.db }, clientOrg, values, 3);
        expect(recorded.statements.length, `${name}.${field}`).toBe(1);
        if (name === "contacts") expect(rows.length).toBe(1);
        const plan = (await queryPlan(DB, recorded.statements[0]!)).join(" | ");
        expect(plan, `${name}.${field}`).toMatch(
          new RegExp(`SEARCH ${name} USING (COVERING )?INDEX ${name}_org_\\w+ \\(organization_id=\\? AND ${field}=\\?\\)`),
        );
        expect(plan, `${name}.${field}`).not.toMatch(new RegExp(`SCAN ${name}\\b`));
      }
    }
  });

  it("refuses what it cannot answer: unknown model 404, not a lookup or bad arguments 422, no context 401", async () => {
    const ctx = identity();
    expect(await rpc.findBy("invoices", "contact_id", [], 1, ctx)).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await rpc.findBy("contacts", "email", ["a@b.c"], 1, ctx)).toMatchObject({ ok: false, error: { status: 422, errors: [{ path: "field" }] } });
    expect(await rpc.findBy("contacts", "__proto__", [], 1, ctx)).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBy("contacts", "company_id", ["not-a-uuid"], 1, ctx)).toMatchObject({
      ok: false,
      error: { status: 422, errors: [{ path: "values" }] },
    });
    const tooMany = Array.from({ length: 101 }, () => crypto.randomUUID());
    expect(await rpc.findBy("contacts", "company_id", tooMany, 1, ctx)).toMatchObject({ ok: false, error: { status: 422 } });
    for (const perValue of [0, 51, 1.5, "2"]) {
      expect(await rpc.findBy("contacts", "company_id", [], perValue, ctx)).toMatchObject({
        ok: false,
        error: { status: 422, errors: [{ path: "per_value" }] },
      });
    }
    expect(await rpc.findBy("contacts", "company_id", [], 1, { request_id: "x" })).toMatchObject({ ok: false, error: { status: 401 } });
  });
});

describe("search", () => {
  it("finds contacts, companies and deals by word prefixes, best first, within the organization", async () => {
    const { client, org: clientOrg } = freshOrg();
    const word = `Quux${crypto.randomUUID().slice(0, 6)}`;
    const co = await create(client, "/companies", { name: word, domain: "quux.example" });
    const person = await create(client, "/contacts", contactInput({ first_name: "Zebediah", last_name: word }));
    const deal = await create(client, "/deals", { title: `${word} renewal for the year`, amount: 125000, currency: "EUR" });
    await create(client, "/contacts", contactInput({ first_name: "Nobody" }));

    const res = await rpc.search(word.toLowerCase(), [], 10, identity(clientOrg));
    expect(res.ok).toBe(true);
    const hits = (res as { data: any[] }).data;
    expect(hits).toEqual([
      { id: co.id, model: "companies", type: "company", name: word, description: "quux.example", score: 1 },
      // The name starts with the query: 0.9.
      { id: deal.id, model: "deals", type: "deal", name: deal.title, description: "€1,250.00", score: 0.9 },
      // One of the name's two words: 0.1 + 0.5 + 0.2 * 1/2.
      { id: person.id, model: "contacts", type: "contact", name: `Zebediah ${word}`, description: person.email, score: 0.7 },
    ]);

    // Only the models asked for; a prefix of a word matches; another organization sees nothing.
    const companiesOnly = await rpc.search(word.slice(0, 6), ["companies"], 10, identity(clientOrg));
    expect(companiesOnly.ok && companiesOnly.data.map((h: any) => h.id)).toEqual([co.id]);
    expect(await rpc.search(word, [], 10, identity(ORG_B))).toEqual({ ok: true, data: [] });
    const one = await rpc.search(word, [], 1, identity(clientOrg));
    expect(one.ok && one.data.map((h: any) => h.id)).toEqual([co.id]);
  });

  it("treats FTS5 syntax in the query as plain words", async () => {
    const { client, org: clientOrg } = freshOrg();
    await create(client, "/companies", { name: "Near Corp" });
    for (const q of ['"', "NEAR(a b)", "* OR 1", "name:x", "^start", ")(", "organization_id : x"]) {
      const res = await rpc.search(q, [], 5, identity(clientOrg));
      expect(res.ok, q).toBe(true);
    }
    const near = await rpc.search("NEAR(", [], 5, identity(clientOrg));
    expect(near.ok && near.data.map((h: any) => h.name)).toEqual(["Near Corp"]);
  });

  it("reads one query per model, through the FTS index and the primary key", async () => {
    const { client, org: clientOrg } = freshOrg();
    await create(client, "/contacts", contactInput({ last_name: "Plan" }));
    for (const name of ["contacts", "companies", "deals"]) {
      const recorded = recordingD1(DB);
      await models[name]!.search!({ ...(env as unknown as Env), DB: recorded.db }, clientOrg, "plan", 10);
      expect(recorded.statements.length, name).toBe(1);
      const plan = (await queryPlan(DB, recorded.statements[0]!)).join(" | ");
      expect(plan, name).toMatch(new RegExp(`SCAN ${name}_fts VIRTUAL TABLE`));
      expect(plan, name).toMatch(/SEARCH t USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    }
  });

  it("refuses bad arguments: empty or long query, a model that is not searchable (422) or unknown (404), no context (401)", async () => {
    const ctx = identity();
    expect(await rpc.search("", [], 5, ctx)).toMatchObject({ ok: false, error: { status: 422, errors: [{ path: "q" }] } });
    expect(await rpc.search("   ", [], 5, ctx)).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.search("x".repeat(201), [], 5, ctx)).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.search("x".repeat(200), [], 5, ctx)).toMatchObject({ ok: true });
    expect(await rpc.search("x", ["pipelines"], 5, ctx)).toMatchObject({ ok: false, error: { status: 422, errors: [{ path: "models" }] } });
    expect(await rpc.search("x", ["invoices"], 5, ctx)).toMatchObject({ ok: false, error: { status: 404 } });
    for (const limit of [0, 51, 2.5])
      expect(await rpc.search("x", [], limit, ctx)).toMatchObject({ ok: false, error: { status: 422, errors: [{ path: "limit" }] } });
    expect(await rpc.search("x", [], 5, {})).toMatchObject({ ok: false, error: { status: 401 } });
    // Punctuation only: no word to look for, no hits.
    expect(await rpc.search("!!", [], 5, ctx)).toEqual({ ok: true, data: [] });
  });
});
