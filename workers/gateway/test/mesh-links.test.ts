// The links read of a join_records relationship (src/mesh/joins/store.ts linksFrom): the newest
// `perRecord` links of each record, within one organization and relationship, whichever of its two
// queries answers (all of them when few, numbered per record in SQL when more than perRecord each).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { linksFrom, type Link } from "../src/mesh/joins/store";

const ORG = crypto.randomUUID();
const OTHER_ORG = crypto.randomUUID();
const REL = `rel-${crypto.randomUUID()}`;
const records = Array.from({ length: 6 }, () => crypto.randomUUID());
const targets = Array.from({ length: 12 }, () => crypto.randomUUID());

interface Stored extends Link {
  organization_id: string;
  relationship_id: string;
  related_id: string;
  origin_id: string;
  created_at: string;
}
const stored: Stored[] = [];

async function link(organization: string, relationship: string, origin: string, related: string, createdAt: string): Promise<void> {
  const id = crypto.randomUUID();
  await env.DB.prepare(
    `INSERT INTO mesh_joins (id, organization_id, relationship_id, origin_service, origin_model, origin_id, related_service, related_model, related_id, created_at)
     VALUES (?1, ?2, ?3, 'crm', 'contacts', ?4, 'documents', 'files', ?5, ?6)`,
  )
    .bind(id, organization, relationship, origin, related, createdAt)
    .run();
  stored.push({
    id,
    from_id: origin,
    to_id: related,
    organization_id: organization,
    relationship_id: relationship,
    origin_id: origin,
    related_id: related,
    created_at: createdAt,
  });
}

beforeAll(async () => {
  // Record i holds i links (0 to 5); two links of record 5 share a created_at (the id breaks the tie).
  for (const [i, record] of records.entries()) {
    for (let k = 0; k < i; k++) {
      const at = `2026-01-0${1 + (i === 5 && k === 4 ? 3 : k)}T00:00:00.000Z`;
      await link(ORG, REL, record, targets[(i + k) % targets.length]!, at);
    }
  }
  // The same records linked in another organization and in another relationship: never answered.
  await link(OTHER_ORG, REL, records[3]!, targets[0]!, "2026-02-01T00:00:00.000Z");
  await link(ORG, `${REL}-other`, records[3]!, targets[1]!, "2026-02-01T00:00:00.000Z");
});

/** What linksFrom must answer: each record's links newest first (created_at, then id), at most perRecord. */
function expected(fromSide: "origin" | "related", fromIds: string[], perRecord: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const from of new Set(fromIds)) {
    const mine = stored
      .filter((l) => l.organization_id === ORG && l.relationship_id === REL && (fromSide === "origin" ? l.origin_id : l.related_id) === from)
      .sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
    if (mine.length)
      out.set(
        from,
        mine.slice(0, perRecord).map((l) => l.id),
      );
  }
  return out;
}

/** The answer grouped per record, in its order (the join reads it so: mesh/embed/read.ts). */
function grouped(links: Link[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of links) out.set(l.from_id, [...(out.get(l.from_id) ?? []), l.id]);
  return out;
}

describe("linksFrom", () => {
  it("answers each record's newest links, at most perRecord, when all of them fit (one query) and when they do not (numbered per record)", async () => {
    // perRecord 5: 15 links for 6 records, under 30, so all are read and cut here.
    // perRecord 2 over records 3-5 (12 links > 3 x 2): numbered in SQL.
    // perRecord 1 over record 5 alone (5 links > 1): numbered in SQL.
    for (const [ids, perRecord] of [
      [records, 5],
      [records, 3],
      [records.slice(3), 2],
      [records.slice(5), 1],
      [records.slice(0, 3), 21],
    ] as const) {
      const links = await linksFrom(env.DB, ORG, REL, "origin", [...ids], perRecord);
      expect(grouped(links), `perRecord ${perRecord}`).toEqual(expected("origin", [...ids], perRecord));
      for (const l of links) expect(stored.find((s) => s.id === l.id)?.to_id).toBe(l.to_id);
    }
  });

  it("reads from the related side too", async () => {
    const links = await linksFrom(env.DB, ORG, REL, "related", targets, 2);
    expect(grouped(links)).toEqual(expected("related", targets, 2));
    for (const l of links) expect(stored.find((s) => s.id === l.id)?.origin_id).toBe(l.to_id);
  });

  it("answers nothing for no ids, ids with no links, and another organization's ids; a repeated id counts once", async () => {
    expect(await linksFrom(env.DB, ORG, REL, "origin", [], 5)).toEqual([]);
    expect(await linksFrom(env.DB, ORG, REL, "origin", [crypto.randomUUID(), records[0]!], 5)).toEqual([]);
    expect(await linksFrom(env.DB, OTHER_ORG, `${REL}-other`, "origin", records, 5)).toEqual([]);
    expect(grouped(await linksFrom(env.DB, ORG, REL, "origin", [records[5]!, records[5]!], 1))).toEqual(expected("origin", [records[5]!], 1));
    const twice = await linksFrom(env.DB, ORG, REL, "origin", [records[4]!, records[4]!, records[2]!], 3);
    expect(grouped(twice)).toEqual(expected("origin", [records[4]!, records[2]!], 3));
    expect(new Set(twice.map((l) => l.id)).size).toBe(twice.length);
  });
});
