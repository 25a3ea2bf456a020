// Per-organization quotas of the data mesh (src/mesh/quotas.ts): exact under concurrent creates.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, statuses, type Account } from "./helpers";
import { MESH_QUOTAS } from "../src/mesh/quotas";
import { as, type Row } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh quotas");
  api = as(admin.access_token);
});

const count = async (table: string) =>
  (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE organization_id = ?1`).bind(admin.organization_id).first<{ n: number }>())!.n;

/** `n` rows of the organization's own, straight into D1 (a fast way to stand near a quota). */
async function fill(table: "mesh_relationships" | "mesh_joins", n: number) {
  const sql =
    table === "mesh_relationships"
      ? `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2)
         INSERT INTO mesh_relationships (id, organization_id, key, reverse_key, origin_service, origin_model, related_service, related_model, kind, field, field_on, created_at)
         SELECT lower(hex(randomblob(16))), ?1, 'filler_' || i, 'filler_back_' || i, 'crm', 'companies', 'documents', 'files', 'join_records', NULL, NULL, '2026-01-02T00:00:00.000Z' FROM k`
      : `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2)
         INSERT INTO mesh_joins (id, organization_id, relationship_id, origin_service, origin_model, origin_id, related_service, related_model, related_id, created_at)
         SELECT lower(hex(randomblob(16))), ?1, 'filler', 'crm', 'contacts', lower(hex(randomblob(16))), 'documents', 'files', lower(hex(randomblob(16))), '2026-01-02T00:00:00.000Z' FROM k`;
  await env.DB.prepare(sql).bind(admin.organization_id, n).run();
}

function expectQuota(problem: Row, quota: string) {
  expect(problem).toMatchObject({
    status: 422,
    type: "https://buildly.dev/problems/quota-exceeded",
    title: "Quota exceeded",
    quota,
    limit: (MESH_QUOTAS as Row)[quota],
  });
}

describe("mesh quotas hold under concurrency", () => {
  it(`relationships: 30 concurrent creates with 5 left make exactly ${MESH_QUOTAS.relationships}`, async () => {
    await fill("mesh_relationships", MESH_QUOTAS.relationships - 5 - (await count("mesh_relationships")));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        api.post("/v1/mesh/relationships", {
          key: `quota_${i}`,
          reverse_key: `quota_back_${i}`,
          origin: { service: "crm", model: "companies" },
          related: { service: "documents", model: "files" },
          kind: "join_records",
        }),
      ),
    );
    expect(statuses(results)).toEqual({ 201: 5, 422: 25 });
    expectQuota(await expectProblem(results.find((r) => r.status === 422)!), "relationships");
    expect(await count("mesh_relationships")).toBe(MESH_QUOTAS.relationships);
    // The refused ones left no keys behind: each key is free again once there is room.
    const keys = await env.DB.prepare("SELECT count(*) AS n FROM mesh_relationship_keys WHERE organization_id = ?1 AND key LIKE 'quota_%'")
      .bind(admin.organization_id)
      .first<{ n: number }>();
    expect(keys!.n).toBe(10);
  });

  it(`join records: 30 concurrent links with 5 left make exactly ${MESH_QUOTAS.join_records}; a joined write that does not fit keeps nothing`, async () => {
    const file = await api.file();
    const contacts: Row[] = [];
    for (let i = 0; i < 31; i++) contacts.push(await api.contact());
    await fill("mesh_joins", MESH_QUOTAS.join_records - 5 - (await count("mesh_joins")));
    const results = await Promise.all(
      contacts.slice(0, 30).map((c) => api.post("/v1/mesh/joins", { relationship: "documents", origin_id: c.id, related_id: file.id })),
    );
    expect(statuses(results)).toEqual({ 201: 5, 422: 25 });
    expectQuota(await expectProblem(results.find((r) => r.status === 422)!), "join_records");
    expect(await count("mesh_joins")).toBe(MESH_QUOTAS.join_records);

    // A joined write whose links do not fit: refused, and its new contact is undone.
    const email = `quota-${crypto.randomUUID()}@example.com`;
    const joined = await api.post("/v1/crm/contacts?join=documents", {
      first_name: "Over",
      last_name: "Quota",
      email,
      _embedded: { documents: [{ id: file.id }] },
    });
    expect(joined.status).toBe(422);
    expect((await expectProblem(joined)).detail).toContain(`at most ${MESH_QUOTAS.join_records} join records`);
    const list = await (await api.get("/v1/crm/contacts?limit=100")).json<Row>();
    expect(list.data.filter((c: Row) => c.email === email)).toEqual([]);
    expect(await count("mesh_joins")).toBe(MESH_QUOTAS.join_records);
  });
});
