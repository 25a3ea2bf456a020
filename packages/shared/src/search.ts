import { sql, type SQL } from "drizzle-orm";
import type { SearchHit } from "./contract";

/*
 * Full-text search over FTS5 tables, shared by every service that searches. The user's text
 * never reaches FTS5 as syntax: it is cut into words (letters, digits and marks, the way the
 * unicode61 tokenizer cuts), each word becomes a double-quoted string (a literal, so AND, NEAR(,
 * ^, *, column filters and stray quotes mean nothing) matched as a prefix, and all words must
 * match. The organization is a column of each FTS table, so the match is narrowed to one
 * organization inside the FTS index itself.
 */

export const SEARCH_MAX_TERMS = 8;

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

const WORDS = /[\p{L}\p{N}\p{M}]+/gu;

/** Lower case without diacritics, as the FTS tables' tokenizer (unicode61 remove_diacritics 2) compares. */
function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

export function searchTerms(q: string): string[] {
  return (q.match(WORDS) ?? []).slice(0, SEARCH_MAX_TERMS);
}

/** The FTS5 MATCH expression for `q` within one organization, or null when `q` holds no word. */
export function matchExpression(q: string, columns: readonly string[], organizationId: string): string | null {
  const terms = searchTerms(q);
  if (terms.length === 0) return null;
  const scope = `{${columns.join(" ")}}`;
  return [`organization_id : ${quote(organizationId)}`, ...terms.map((t) => `${scope} : ${quote(t)}*`)].join(" AND ");
}

/**
 * The ids of the best `limit` matches of an FTS5 table (bm25 order), as a SQL subquery's rows:
 * `SELECT <idColumn> FROM <fts> WHERE <fts> MATCH ... ORDER BY rank LIMIT n`. Null when `q` holds no word.
 */
export function ftsMatches(ftsTable: string, idColumn: string, columns: readonly string[], organizationId: string, q: string, limit: number): SQL | null {
  const match = matchExpression(q, columns, organizationId);
  if (match === null) return null;
  const fts = sql.identifier(ftsTable);
  return sql`SELECT ${sql.identifier(idColumn)} AS id, rank FROM ${fts} WHERE ${fts} MATCH ${match} ORDER BY rank LIMIT ${limit}`;
}

/**
 * How well a record's display name answers a query, 0..1, the same way in every service so the
 * gateway can merge hits across services: the exact name 1; a name that starts with the whole
 * query 0.9; otherwise up to 0.8 for how much of the query the name's words explain and how much
 * of the name the query covers; 0.1 for a record that matched on another field only (an email, a domain).
 */
export function textScore(query: string, name: string): number {
  const q = fold(query.trim());
  const n = fold(name.trim());
  if (q === "") return 0;
  if (n === q) return 1;
  if (n.startsWith(q)) return 0.9;
  const terms = searchTerms(q);
  const words = n.match(WORDS) ?? [];
  if (!terms.length || !words.length) return 0.1;
  const explained = terms.filter((t) => words.some((w) => w.startsWith(t))).length / terms.length;
  const covered = words.filter((w) => terms.some((t) => w.startsWith(t))).length / words.length;
  return Math.round((0.1 + 0.5 * explained + 0.2 * covered) * 1e4) / 1e4;
}

/** How many FTS candidates to read for `limit` hits: some slack, since hits are re-ranked by textScore. */
export function searchCandidates(limit: number): number {
  return Math.min(limit * 2, 100);
}

/** A search hit scored on its name, or on another text it matched (an email, a domain) at 0.8 of that. */
export function searchHit(query: string, hit: Omit<SearchHit, "score">, also: (string | null | undefined)[] = []): SearchHit {
  const others = also.filter((t): t is string => typeof t === "string" && t !== "").map((t) => 0.8 * textScore(query, t));
  return { ...hit, score: Math.round(Math.max(textScore(query, hit.name), ...others) * 1e4) / 1e4 };
}
