import type { Context } from "hono";
import { logError } from "@buildly/shared";
import type { GatewayEnv } from "../../types";
import type { ModelRef } from "../relationships/relationship";

export interface Link {
  id: string;
  from_id: string;
  to_id: string;
}

/**
 * The links of a relationship from each of `fromIds` (read from the origin side when `fromSide`
 * is origin, else from the related side), newest first, at most `perRecord` per record: one
 * query for the whole page. SQLite answers them as ONE JSON text of [id, from, to] triples (an
 * aggregate over the ordered subquery keeps its order): one cell to carry out of D1 instead of
 * three a link (bench/README.md, row (h)).
 *
 * A page's records usually hold fewer links than `perRecord` each, so the query first reads them
 * all in the answer's order with no window function (SQLite's ROW_NUMBER costs about as much
 * again as the rest of this query), at most `fromIds.length * perRecord` + 1 of them, and the
 * newest `perRecord` of each record are kept here. Only when there are more than that in all
 * does a second query number them per record in SQL. Either way the same links, in the same order.
 */
export async function linksFrom(
  d1: D1Database,
  organizationId: string,
  relationshipId: string,
  fromSide: "origin" | "related",
  fromIds: string[],
  perRecord: number,
): Promise<Link[]> {
  if (!fromIds.length) return [];
  const [fromCol, toCol] = fromSide === "origin" ? ["origin_id", "related_id"] : ["related_id", "origin_id"];
  const ids = JSON.stringify(fromIds);
  const cap = fromIds.length * perRecord;
  const all = await linkTriples(
    d1.prepare(
      `SELECT json_group_array(json_array(id, from_id, to_id)) AS links FROM (
         SELECT id, ${fromCol} AS from_id, ${toCol} AS to_id FROM mesh_joins
         WHERE organization_id = ?1 AND relationship_id = ?2 AND ${fromCol} IN (SELECT value FROM json_each(?3))
         ORDER BY ${fromCol}, created_at DESC, id DESC LIMIT ?4
       )`,
    ),
    [organizationId, relationshipId, ids, cap + 1],
  );
  if (all.length <= cap) return newestPerRecord(all, perRecord);
  return linkTriples(
    d1.prepare(
      `SELECT json_group_array(json_array(id, from_id, to_id)) AS links FROM (
         SELECT id, ${fromCol} AS from_id, ${toCol} AS to_id,
                ROW_NUMBER() OVER (PARTITION BY ${fromCol} ORDER BY created_at DESC, id DESC) AS n
         FROM mesh_joins
         WHERE organization_id = ?1 AND relationship_id = ?2 AND ${fromCol} IN (SELECT value FROM json_each(?3))
       ) WHERE n <= ?4`,
    ),
    [organizationId, relationshipId, ids, perRecord],
  );
}

async function linkTriples(statement: D1PreparedStatement, params: unknown[]): Promise<Link[]> {
  const row = await statement.bind(...params).first<{ links: string }>();
  const triples = row ? (JSON.parse(row.links) as [string, string, string][]) : [];
  return triples.map(([id, from_id, to_id]) => ({ id, from_id, to_id }));
}

/** The first `perRecord` links of each record, from links ordered by record then newest first. */
function newestPerRecord(links: Link[], perRecord: number): Link[] {
  const out: Link[] = [];
  let record: string | undefined;
  let n = 0;
  for (const link of links) {
    if (link.from_id !== record) {
      record = link.from_id;
      n = 0;
    }
    if (n++ < perRecord) out.push(link);
  }
  return out;
}

/** Removes every link of one record, at either end (the record was deleted). */
export async function unlinkRecord(d1: D1Database, organizationId: string, ref: ModelRef, id: string): Promise<void> {
  await d1
    .prepare(
      `DELETE FROM mesh_joins WHERE organization_id = ?1 AND (
         (origin_id = ?4 AND origin_service = ?2 AND origin_model = ?3) OR
         (related_id = ?4 AND related_service = ?2 AND related_model = ?3))`,
    )
    .bind(organizationId, ref.service, ref.model, id)
    .run();
}

/**
 * Drops links whose other end has vanished (deleted without going through the gateway), after
 * the response: the read that found them has already left them out.
 */
export function dropVanishedLinks(c: Context<GatewayEnv>, organizationId: string, linkIds: string[]): void {
  if (!linkIds.length) return;
  const work = c.env.DB.prepare(`DELETE FROM mesh_joins WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))`)
    .bind(organizationId, JSON.stringify(linkIds))
    .run()
    .catch((err: unknown) => logError(c.get("requestId"), "gateway", err, { during: "mesh join cleanup" }));
  c.executionCtx.waitUntil(work);
}
