import { sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";

/*
 * Full-text search over the FTS5 tables of migrations/0002. The user's text never reaches FTS5
 * as syntax: it is cut into words (letters, digits and marks, the way the unicode61 tokenizer
 * cuts), each word becomes a double-quoted string (a literal, so AND, NEAR(, ^, *, column
 * filters and stray quotes mean nothing) matched as a prefix, and all words must match.
 */

export const SEARCH_MAX_TERMS = 8;

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

export function searchTerms(q: string): string[] {
  return (q.match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).slice(0, SEARCH_MAX_TERMS);
}

/** The FTS5 MATCH expression for `q` within one organization, or null when `q` holds no word. */
export function matchExpression(q: string, columns: readonly string[], organizationId: string): string | null {
  const terms = searchTerms(q);
  if (terms.length === 0) return null;
  const scope = `{${columns.join(" ")}}`;
  return [`organization_id : ${quote(organizationId)}`, ...terms.map((t) => `${scope} : ${quote(t)}*`)].join(" AND ");
}

/** A WHERE condition: the row is among the FTS matches (never true when `q` has no word). */
export function searchCondition(ftsTable: string, rid: AnySQLiteColumn, columns: readonly string[], organizationId: string, q: string): SQL {
  const match = matchExpression(q, columns, organizationId);
  if (match === null) return sql`0`;
  const fts = sql.identifier(ftsTable);
  return sql`${rid} IN (SELECT rowid FROM ${fts} WHERE ${fts} MATCH ${match})`;
}
