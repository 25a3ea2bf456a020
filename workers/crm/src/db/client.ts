import { drizzleDb, type DrizzleDb } from "@buildly/shared";
import { sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

/** Drizzle over this request's D1 binding (or its session), built per request (`drizzleDb`, packages/shared). */
export const db = drizzleDb;

export type Db = DrizzleDb;

export { isCheckViolation, isForeignKeyViolation, isUniqueViolation } from "@buildly/shared";

/**
 * INSERT ... SELECT <values> WHERE <condition>: inserts the row only if the condition holds at
 * that moment, in one statement (so a reference checked by the condition cannot vanish between
 * a check and the write). Returns whether the row went in. JSON values are stored as text.
 */
export async function insertWhere(database: Db, table: SQLiteTable, row: Record<string, unknown>, condition: SQL): Promise<boolean> {
  const columns = Object.keys(row);
  const values = columns.map((k) => {
    const v = row[k];
    if (v === undefined) return null;
    if (typeof v === "boolean") return v ? 1 : 0;
    return v !== null && typeof v === "object" ? JSON.stringify(v) : v;
  });
  // RETURNING rather than meta.changes: D1 counts the rows the FTS triggers write as changes too.
  const inserted = await database.all<{ id: string }>(
    sql`INSERT INTO ${table} (${sql.join(
      columns.map((c) => sql.identifier(c)),
      sql`, `,
    )}) SELECT ${sql.join(
      values.map((v) => sql`${v}`),
      sql`, `,
    )} WHERE ${condition} RETURNING id`,
  );
  return inserted.length === 1;
}
