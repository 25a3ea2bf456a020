import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultPipelineId } from "../src/lib/default-pipeline";
import { json, listAll, rpc } from "./helpers";
import { serviceClient } from "@buildly/shared/test";

const e = env as unknown as { DB: D1Database; MIGRATION_DB: D1Database; TEST_MIGRATIONS: D1Migration[]; TEST_SEED: D1Migration[] };
const DEMO_ORG = "00000000-0000-4000-8000-000000000001";
const CONTACTS = ["0a01", "0a02", "0a03", "0a04"].map((s) => `6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f${s}`);
const COMPANIES = ["c001", "c002", "c003"].map((s) => `c0a1b2c3-0000-4000-8000-00000000${s}`);

async function runSeed(db: D1Database) {
  const queries = e.TEST_SEED.flatMap((m) => m.queries);
  await db.batch(queries.map((q) => db.prepare(q)));
}

describe("demo seed", () => {
  it("loads, is idempotent and is consistent with the API's rules", async () => {
    await runSeed(e.DB);
    const count = async () =>
      e.DB.prepare(
        `SELECT (SELECT count(*) FROM companies WHERE organization_id = ?1) co, (SELECT count(*) FROM contacts WHERE organization_id = ?1) ct,
                (SELECT count(*) FROM deals WHERE organization_id = ?1) d, (SELECT count(*) FROM activities WHERE organization_id = ?1) ac,
                (SELECT count(*) FROM pipelines WHERE organization_id = ?1) p`,
      )
        .bind(DEMO_ORG)
        .first();
    const once = await count();
    await runSeed(e.DB);
    expect(await count()).toEqual(once);
    expect(once).toEqual({ co: 3, ct: 4, d: 4, ac: 4, p: 1 });

    const demo = serviceClient(rpc, DEMO_ORG);
    const contacts = await listAll(demo, "/contacts", 100);
    expect(contacts.map((x) => x.id)).toEqual(CONTACTS);
    expect(contacts.map((x) => x.email)).toEqual(["ada@analytical.example", "grace@cobol.example", "katherine@orbits.example", "alan@bletchley.example"]);
    for (const x of contacts) expect(COMPANIES).toContain(x.company_id);
    const companies = await listAll(demo, "/companies?sort=name", 100);
    expect(companies.map((x) => [x.id, x.name])).toEqual([
      [COMPANIES[0], "Analytical Engines Ltd"],
      [COMPANIES[1], "Compiler Works Inc"],
      [COMPANIES[2], "Orbital Mechanics Co"],
    ]);
    // The seeded default pipeline is the one the CRM would provision (same id, not created twice).
    const pipelines = await json(demo.get("/pipelines"));
    expect(pipelines.data).toHaveLength(1);
    expect(pipelines.data[0]).toMatchObject({ id: await defaultPipelineId(DEMO_ORG), is_default: true });
    const stageIds = pipelines.data[0].stages.map((s: any) => s.id);
    const deals = await listAll(demo, "/deals", 100);
    expect(deals).toHaveLength(4);
    for (const d of deals) expect(stageIds).toContain(d.stage);
    expect((await json(demo.get("/companies?q=orbital"))).data.map((x: any) => x.id)).toEqual([COMPANIES[2]]);
    expect((await json(demo.get("/contacts?q=grace"))).data.map((x: any) => x.id)).toEqual([CONTACTS[1]]);
    expect((await json(demo.get("/deals?q=cobol"))).data).toHaveLength(1);
    expect((await listAll(demo, `/activities?contact_id=${CONTACTS[0]}`, 100)).length).toBeGreaterThan(0);
    // The 409 rule holds for seeded data too.
    expect((await demo.delete(`/companies/${COMPANIES[0]}?detach=contacts`)).status).toBe(409);
  });
});

describe("migration 0002 over a database that already has contacts", () => {
  it("turns free-text company names into companies, links the contacts and indexes them for search", async () => {
    const db = e.MIGRATION_DB;
    const [first, ...rest] = e.TEST_MIGRATIONS;
    expect(first!.name).toBe("0001_contacts.sql");
    await applyD1Migrations(db, [first!]);
    const legacy = db.prepare(
      "INSERT INTO contacts (id, organization_id, first_name, last_name, email, phone, company, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, '[]', ?, ?)",
    );
    const t = "2026-01-01T00:00:00.000Z";
    await db.batch([
      legacy.bind("11111111-0000-4000-8000-000000000001", "org-1", "Ada", "Lovelace", "ada@x.example", "Analytical Engines", t, t),
      legacy.bind("11111111-0000-4000-8000-000000000002", "org-1", "Charles", "Babbage", "cb@x.example", " analytical engines ", t, t),
      legacy.bind("11111111-0000-4000-8000-000000000003", "org-2", "Ada", "Twin", "ada@x.example", "Analytical Engines", t, t),
      legacy.bind("11111111-0000-4000-8000-000000000004", "org-1", "No", "Company", "nc@x.example", null, t, t),
    ]);
    await applyD1Migrations(db, [first!, ...rest]);

    const companies = await db.prepare("SELECT id, organization_id, name FROM companies ORDER BY organization_id").all<any>();
    expect(companies.results.map((c) => [c.organization_id, c.name])).toEqual([
      ["org-1", "Analytical Engines"],
      ["org-2", "Analytical Engines"],
    ]);
    for (const c of companies.results) expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const byOrg = Object.fromEntries(companies.results.map((c) => [c.organization_id, c.id]));
    const contacts = await db.prepare("SELECT id, organization_id, company_id, custom_fields FROM contacts ORDER BY id").all<any>();
    expect(contacts.results.map((c) => c.company_id)).toEqual([byOrg["org-1"], byOrg["org-1"], byOrg["org-2"], null]);
    expect(contacts.results.every((c) => c.custom_fields === "{}")).toBe(true);
    const columns = (await db.prepare("PRAGMA table_info(contacts)").all<any>()).results.map((c) => c.name);
    expect(columns).not.toContain("company");
    const found = await db.prepare("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH 'babbage'").all();
    expect(found.results).toHaveLength(1);
    const companyFound = await db.prepare("SELECT rowid FROM companies_fts WHERE companies_fts MATCH 'analytical'").all();
    expect(companyFound.results).toHaveLength(2);
    // The composite foreign key holds on the rebuilt table.
    await expect(db.prepare("UPDATE contacts SET company_id = ? WHERE id = '11111111-0000-4000-8000-000000000004'").bind(byOrg["org-2"]).run()).rejects.toThrow(
      /FOREIGN KEY/,
    );
  });
});
