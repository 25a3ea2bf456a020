import { and, eq, isNull, sql, type SQL } from "drizzle-orm";
import { nowIso } from "@buildly/shared";
import type { AnySQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { activities } from "../db/schema";

/*
 * Activities are the history of the records they are linked to. Deleting a contact, company or
 * deal deletes the activities linked to it alone; activities also linked to another record stay,
 * without the link to the deleted one. These statements run in the same D1 batch (a transaction)
 * as the record's DELETE and carry the same guard, so a refused delete changes nothing.
 */

type Link = "contact_id" | "company_id" | "deal_id";
const LINKS: Link[] = ["contact_id", "company_id", "deal_id"];

export function activityCleanup(database: Db, organizationId: string, link: Link, id: string, guard: SQL) {
  const linkedHere = and(eq(activities.organization_id, organizationId), eq(activities[link], id), guard);
  const others = LINKS.filter((l) => l !== link).map((l) => isNull(activities[l]));
  return [
    database.delete(activities).where(and(linkedHere, ...others)),
    database
      .update(activities)
      .set({ [link]: null, updated_at: nowIso() })
      .where(linkedHere),
  ] as const;
}

/** True while no row of `table` in the organization has `column` = `id`. */
export function notReferenced(table: SQLiteTable & { organization_id: AnySQLiteColumn }, column: AnySQLiteColumn, organizationId: string, id: string): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${table} WHERE ${table.organization_id} = ${organizationId} AND ${column} = ${id})`;
}
