import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, isNotNull, isNull, lt, or, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { invalidCursor } from "./errors";
import { decodeCursor, paginate, type Cursor } from "./pagination";

/*
 * Keyset pagination over D1 with drizzle: a page ends at its last row's (key, id), and the next
 * page starts strictly after that pair, whatever was written in between. Lists order by
 * (key, id) so that rows sharing a key still come in one stable order.
 */

/**
 * The "after the cursor" condition of a list ordered by (key, id): rows whose key is beyond the
 * cursor's, or equal to it with a greater id (smaller ids and keys when `descending`). Undefined
 * without a cursor, so it can go straight into `and(...)`. For NOT NULL keys (created_at);
 * `keyset()` below handles nullable sort columns.
 */
export function afterCursor(key: AnySQLiteColumn, id: AnySQLiteColumn, after: Cursor | undefined, descending = false): SQL | undefined {
  if (!after) return undefined;
  const beyond = descending ? lt : gt;
  return or(beyond(key, after.k), and(eq(key, after.k), beyond(id, after.id)));
}

type SortValue = string | number | null;

/** `?sort=field` or `?sort=-field` over an allow-list of fields. */
export function sortQuerySchema<F extends string>(fields: readonly F[], fallback: F | `-${F}`) {
  const options = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return z
    .enum(options)
    .default(fallback)
    .openapi({
      description: `Sort by ${fields.join(", ")}; a leading "-" sorts descending. Default ${fallback}. A cursor continues only the sort it was issued for (422 otherwise).`,
      example: fallback,
    });
}

const sortCursorError = () => invalidCursor("The cursor is not one this API issued for this sort.");

/** After (value, id) on a column that may hold NULLs, in SQLite's order: NULLs first ascending, last descending. */
function afterSortValue(column: AnySQLiteColumn, idColumn: AnySQLiteColumn, descending: boolean, value: SortValue, id: string): SQL {
  const idAfter = descending ? lt(idColumn, id) : gt(idColumn, id);
  if (value === null) {
    // Ascending, NULLs came first: the rest of the NULLs, then every non-NULL. Descending, NULLs come last.
    return descending ? and(isNull(column), idAfter)! : or(and(isNull(column), idAfter), isNotNull(column))!;
  }
  const beyond = descending ? lt(column, value) : gt(column, value);
  const tie = and(eq(column, value), idAfter);
  return descending ? or(beyond, tie, isNull(column))! : or(beyond, tie)!;
}

/**
 * The ORDER BY, the "after the cursor" condition and the page builder for a sorted list request
 * (`sort` from `sortQuerySchema`). `columns` maps each allowed sort field to its column; the row
 * objects carry the same keys. The cursor carries the sort, so it continues only that sort.
 */
export function keyset<F extends string>(sort: string, columns: Record<F, AnySQLiteColumn>, idColumn: AnySQLiteColumn, cursor: string | undefined) {
  const descending = sort.startsWith("-");
  const field = (descending ? sort.slice(1) : sort) as F;
  const column = columns[field];
  let after: SQL | undefined;
  const decoded = decodeCursor(cursor);
  if (decoded) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoded.k);
    } catch {
      throw sortCursorError();
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== sort) throw sortCursorError();
    const value: unknown = parsed[1];
    if (!(value === null || typeof value === "string" || typeof value === "number")) throw sortCursorError();
    after = afterSortValue(column, idColumn, descending, value, decoded.id);
  }
  return {
    after,
    orderBy: descending ? [desc(column), desc(idColumn)] : [asc(column), asc(idColumn)],
    page<R extends { id: string }>(rows: R[], limit: number) {
      return paginate(rows, limit, (r) => JSON.stringify([sort, ((r as Record<string, unknown>)[field] ?? null) as SortValue]));
    },
  };
}
