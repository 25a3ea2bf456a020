import { and, eq, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { AnySQLiteColumn, BaseSQLiteDatabase, SQLiteTable } from "drizzle-orm/sqlite-core";
import { notFound, orNotFound } from "./errors";

/**
 * Drizzle over a request's D1 binding (or its session), built per request: every service's and
 * the gateway's `db()`. Without `schema`: no code uses drizzle's relational queries (`db.query.*`),
 * and reading the schema's relations on every construction cost about 26 us of CPU against 4 without.
 */
export function drizzleDb(d1: D1Database) {
  return drizzle(d1);
}

export type DrizzleDb = ReturnType<typeof drizzleDb>;

/** A table whose rows belong to one organization each, found by `id`. */
export type OwnedTable = SQLiteTable & { id: AnySQLiteColumn; organization_id: AnySQLiteColumn };

/** The row `id` of the organization (and matching `also`, e.g. not deleted): a row of another organization is not there. */
export function ownedBy(table: OwnedTable, id: string, organizationId: string, also?: SQL): SQL {
  return and(eq(table.id, id), eq(table.organization_id, organizationId), also)!;
}

// Any drizzle D1 database, whatever schema it was built with.
// biome-ignore lint/suspicious/noExplicitAny: the schema and result types are the caller's
type AnyD1Db = BaseSQLiteDatabase<"async", any, any>;

/** Reads the organization's row `id` of `table` (matching `also`, if given), or throws the 404 `detail`. */
export async function getOwnedOr404<T extends OwnedTable>(
  database: AnyD1Db,
  table: T,
  id: string,
  organizationId: string,
  detail: string,
  also?: SQL,
): Promise<T["$inferSelect"]> {
  const row = await database
    .select()
    .from(table)
    .where(ownedBy(table, id, organizationId, also))
    .get();
  return orNotFound(row as T["$inferSelect"] | undefined, detail);
}

/** Whether the organization has row `id` in `table` (reads the id only). */
export async function hasOwned(database: AnyD1Db, table: OwnedTable, id: string, organizationId: string, also?: SQL): Promise<boolean> {
  const row = await database
    .select({ id: table.id })
    .from(table)
    .where(ownedBy(table, id, organizationId, also))
    .get();
  return row !== undefined;
}

/** Throws the 404 `detail` unless the organization has row `id` in `table`. */
export async function requireOwned(database: AnyD1Db, table: OwnedTable, id: string, organizationId: string, detail: string): Promise<void> {
  if (!(await hasOwned(database, table, id, organizationId))) throw notFound(detail);
}
