import { and, sql, type SQL } from "drizzle-orm";
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

/**
 * The organization filter, written `+column` so SQLite looks rows up by primary key rather than
 * walking the organization's index (without statistics it would pick the latter).
 */
function inOrganization(column: SQLiteColumn, organizationId: string): SQL {
  return sql`+${column} = ${organizationId}`;
}

export function calendarsByIds(d1: D1Database, organizationId: string, ids: string[]) {
  return db(d1)
    .select()
    .from(calendars)
    .where(and(idIn(calendars.id, ids), inOrganization(calendars.organization_id, organizationId)));
}

export function appointmentsByIds(d1: D1Database, organizationId: string, ids: string[]) {
  return db(d1)
    .select()
    .from(appointments)
    .where(and(idIn(appointments.id, ids), inOrganization(appointments.organization_id, organizationId)));
}

/** The batched reads by id the data mesh joins on (getMany over RPC); one query each. */
export const models: Record<string, GetManyLoader<Env>> = {
  calendars: async (env, organizationId, ids) =>
    (await calendarsByIds(env.DB, organizationId, ids).all()).map(({ organization_id: _org, ...calendar }) => calendar),
  appointments: async (env, organizationId, ids) => (await appointmentsByIds(env.DB, organizationId, ids).all()).map(toAppointment),
};
