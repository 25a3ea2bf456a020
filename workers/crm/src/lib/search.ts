import { sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { matchExpression } from "@buildly/shared";

/*
 * Full-text search over the FTS5 tables of migrations/0002 (contacts_fts, companies_fts,
 * deals_fts: external content on each table's rid). How a query becomes a safe MATCH expression
 * lives in packages/shared (search.ts), shared with the other services' searches.
 */
export { SEARCH_MAX_TERMS, matchExpression, searchTerms } from "@buildly/shared";

/** A WHERE condition: the row is among the FTS matches (never true when `q` has no word). */
export function searchCondition(ftsTable: string, rid: AnySQLiteColumn, columns: readonly string[], organizationId: string, q: string): SQL {
  const match = matchExpression(q, columns, organizationId);
  if (match === null) return sql`0`;
  const fts = sql.identifier(ftsTable);
  return sql`${rid} IN (SELECT rowid FROM ${fts} WHERE ${fts} MATCH ${match})`;
}
