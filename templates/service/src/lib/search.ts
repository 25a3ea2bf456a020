import { sql, type SQL } from "drizzle-orm";
import { ftsMatches, matchExpression, searchCandidates, searchHit, type SearchLoader } from "@buildly/shared";
import { db } from "../db/client";
import { items } from "../db/schema";

/*
 * Full-text search over items_fts (migrations/0001: external content on items.rid, kept in step
 * by triggers). How a query becomes a safe MATCH expression lives in packages/shared (search.ts).
 */
const FTS = "items_fts";
const COLUMNS = ["name", "description"] as const;

/** The list's ?q=: the row is among the FTS matches (never true when `q` holds no word). */
export function searchCondition(q: string, organizationId: string): SQL {
  const match = matchExpression(q, COLUMNS, organizationId);
  if (match === null) return sql`0`;
  return sql`${items.rid} IN (SELECT rowid FROM ${sql.identifier(FTS)} WHERE ${sql.identifier(FTS)} MATCH ${match})`;
}

type Hit = { id: string; name: string; description: string | null };

/**
 * The data mesh's search on items: the best candidates by bm25 in one query, then scored on the
 * name (and, lower, the description) the same way as every service. `+t.organization_id` keeps
 * SQLite from walking the organization's index instead of looking candidates up by primary key.
 */
export const searchItems: SearchLoader<Env> = async (env, org, q, limit) => {
  const matches = ftsMatches(FTS, "rowid", COLUMNS, org, q, searchCandidates(limit));
  if (!matches) return [];
  const rows = await db(env.DB).all<Hit>(
    sql`SELECT t.id, t.name, t.description FROM (${matches}) AS m JOIN items AS t ON t.rid = m.id WHERE +t.organization_id = ${org} ORDER BY m.rank`,
  );
  return rows.map((r) => searchHit(q, { id: r.id, model: "items", type: "item", name: r.name, description: r.description }, [r.description]));
};
