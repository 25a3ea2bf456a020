import { and, eq, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { GetManyLoader } from "@buildly/shared";
import { db } from "./db/client";
import { appointments, calendars } from "./db/schema";
import { toAppointment } from "./scheduling/series";

/**
 * `id IN (...)` with the ids as ONE bound JSON parameter: D1 allows at most 100 bound
 * parameters per statement, and getMany takes up to 100 ids plus the organization.
 */
function idIn(column: SQLiteColumn, ids: string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

/** The batched reads by id the data mesh joins on (getMany over RPC); one query each. */
export const models: Record<string, GetManyLoader<Env>> = {
  calendars: async (env, organizationId, ids) => {
    const rows = await db(env.DB)
      .select()
      .from(calendars)
      .where(and(eq(calendars.organization_id, organizationId), idIn(calendars.id, ids)))
      .all();
    return rows.map(({ organization_id: _org, ...calendar }) => calendar);
  },
  appointments: async (env, organizationId, ids) => {
    const rows = await db(env.DB)
      .select()
      .from(appointments)
      .where(and(eq(appointments.organization_id, organizationId), idIn(appointments.id, ids)))
      .all();
    return rows.map(toAppointment);
  },
};
