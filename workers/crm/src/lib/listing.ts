import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, isNotNull, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { ApiError, decodeCursor, paginate } from "@buildly/shared";

/*
 * Sorted lists with keyset pagination. `?sort=field` or `?sort=-field` picks one column of an
 * allow-list; rows are ordered by (column, id) in that direction, and the cursor carries the sort
 * and the last row's (value, id), so the next page starts strictly after it whatever was written
 * in between. Nullable columns follow SQLite's order: NULLs first ascending, last descending.
 */

type SortValue = string | number | null;

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

function invalidCursor(): ApiError {
  return new ApiError(422, "The cursor is not one this API issued for this sort.", {
    errors: [{ path: "cursor", message: "Invalid cursor" }],
  });
}

function afterCondition(column: AnySQLiteColumn, idColumn: AnySQLiteColumn, descending: boolean, value: SortValue, id: string): SQL {
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
 * The ORDER BY, the "after the cursor" condition and the page builder for one list request.
 * `columns` maps each allowed sort field to its column; the row objects carry the same keys.
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
      throw invalidCursor();
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== sort) throw invalidCursor();
    const value: unknown = parsed[1];
    if (!(value === null || typeof value === "string" || typeof value === "number")) throw invalidCursor();
    after = afterCondition(column, idColumn, descending, value, decoded.id);
  }
  return {
    after,
    orderBy: descending ? [desc(column), desc(idColumn)] : [asc(column), asc(idColumn)],
    page<R extends { id: string }>(rows: R[], limit: number) {
      return paginate(rows, limit, (r) => JSON.stringify([sort, ((r as Record<string, unknown>)[field] ?? null) as SortValue]));
    },
  };
}

/**
 * `column IN (ids)` with the ids bound as ONE JSON parameter: D1 allows at most 100 bound
 * parameters per statement, so `inArray` with 100 ids plus the organization would fail.
 */
export function idIn(column: AnySQLiteColumn, ids: string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}
