import { sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";

/** `column IN (values)` with the values bound as ONE JSON parameter: D1 binds at most 100 per statement. */
export function inJson(column: AnySQLiteColumn | SQL, values: readonly string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

export interface LookupColumns {
  table: SQLiteTable;
  /** The column the outer query finds rows by (a primary key: `rid` or `id`). */
  key: AnySQLiteColumn;
  /** When `table` is a lookup table beside the model's: the model's column that `key` holds. */
  outerKey?: AnySQLiteColumn;
  organization: AnySQLiteColumn;
  created: AnySQLiteColumn;
  id: AnySQLiteColumn;
}

/**
 * findBy's condition, for one query whatever the number of values: the row is among the
 * `perValue` newest (created_at, then id, descending) rows of the organization whose `column`
 * holds each of `values`. The inner query walks an index on (organization, column, ...); the
 * outer one looks the survivors up by primary key. A row matching several values comes once.
 */
export function newestPerValue(
  t: LookupColumns,
  column: AnySQLiteColumn,
  organizationId: string,
  values: readonly string[],
  perValue: number,
  also?: SQL,
): SQL {
  const where = [sql`${t.organization} = ${organizationId}`, inJson(column, values)];
  if (also) where.push(also);
  return sql`${t.outerKey ?? t.key} IN (SELECT k FROM (SELECT ${t.key} AS k, ROW_NUMBER() OVER (PARTITION BY ${column} ORDER BY ${t.created} DESC, ${t.id} DESC) AS rn
    FROM ${t.table} WHERE ${sql.join(where, sql` AND `)}) WHERE rn <= ${perValue})`;
}
