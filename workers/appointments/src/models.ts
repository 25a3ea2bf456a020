import { and, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { NO_PERSONAL_DATA, ftsMatches, meshFields, ref, searchCandidates, searchHit, type MeshModelDefinition, inJson } from "@buildly/shared";
import { db } from "./db/client";
import { appointments, calendars, type CalendarRow } from "./db/schema";
import { appointmentsPersonalData } from "./privacy";
import { AppointmentSchema } from "./routes/appointments/appointments.schemas";
import { CalendarSchema } from "./routes/calendars/calendars.schemas";
import { toAppointment, type Appointment } from "./scheduling/series";

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
    .where(and(inJson(calendars.id, ids), inOrganization(calendars.organization_id, organizationId)));
}

export function appointmentsByIds(d1: D1Database, organizationId: string, ids: string[]) {
  return db(d1)
    .select()
    .from(appointments)
    .where(and(inJson(appointments.id, ids), inOrganization(appointments.organization_id, organizationId)));
}

/**
 * The mesh's batched reads of appointments (findBy: up to 100 values at a time) answer the API's
 * shape straight from SQLite, as ONE JSON text (the API's fields under its names, in
 * toAppointment's order, newest first): a result of one cell instead of 11 columns a row costs
 * far less to carry out of D1, and no row needs drizzle's mapping (bench/README.md, row (h)).
 * `matches` selects the ids (`k`) of the `perValue` (?3) newest appointments per value (?2, a JSON
 * array) in the organization (?1), as newestPerValue does. Fixed statements, prepared on the
 * binding: no drizzle instance and no SQL built per call (docs/benchmarks.md, row (h)).
 */
function meshAppointmentsSql(matches: string): string {
  // An aggregate over an ordered subquery keeps its order (SQLite does not flatten it).
  return `SELECT json_group_array(json_object('id', id, 'calendar_id', calendar_id, 'title', title, 'start', start_at, 'end', end_at,
      'attendees', json(attendees), 'location', location, 'status', status, 'recurrence', recurrence, 'created_at', created_at, 'updated_at', updated_at)) AS list
    FROM (SELECT * FROM appointments WHERE id IN (SELECT k FROM (${matches}) WHERE rn <= ?3) ORDER BY created_at DESC, id DESC)`;
}

/** findBy("appointments", "attendees[].contact_id"): through the appointment_contacts lookup table. */
export const MESH_APPOINTMENTS_BY_CONTACTS = meshAppointmentsSql(
  `SELECT appointment_id AS k, ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY created_at DESC, appointment_id DESC) AS rn
   FROM appointment_contacts WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2))`,
);

/** findBy("appointments", "calendar_id"). */
export const MESH_APPOINTMENTS_BY_CALENDARS = meshAppointmentsSql(
  `SELECT id AS k, ROW_NUMBER() OVER (PARTITION BY calendar_id ORDER BY created_at DESC, id DESC) AS rn
   FROM appointments WHERE organization_id = ?1 AND calendar_id IN (SELECT value FROM json_each(?2))`,
);

async function meshAppointments(d1: D1Database, statement: string, organizationId: string, values: string[], perValue: number): Promise<Appointment[]> {
  const row = await d1.prepare(statement).bind(organizationId, JSON.stringify(values), perValue).first<{ list: string }>();
  return row ? (JSON.parse(row.list) as Appointment[]) : [];
}

export function appointmentsByContacts(d1: D1Database, organizationId: string, contactIds: string[], perValue: number) {
  return meshAppointments(d1, MESH_APPOINTMENTS_BY_CONTACTS, organizationId, contactIds, perValue);
}

export function appointmentsByCalendars(d1: D1Database, organizationId: string, calendarIds: string[], perValue: number) {
  return meshAppointments(d1, MESH_APPOINTMENTS_BY_CALENDARS, organizationId, calendarIds, perValue);
}

const toCalendar = ({ organization_id: _org, ...calendar }: CalendarRow) => calendar;

/**
 * The appointments service's models as the data mesh sees them (describe, getMany, findBy,
 * search over RPC); fields are read off the response schemas. An attendee's contact_id names a
 * CRM contact: the gateway checks it exists when an appointment is written through it.
 */
export const models: Record<string, MeshModelDefinition<Env>> = {
  calendars: {
    path: "/calendars",
    title: "Calendar",
    fields: meshFields(CalendarSchema),
    getMany: async (env, organizationId, ids) => (await calendarsByIds(env.DB, organizationId, ids).all()).map(toCalendar),
    personalData: NO_PERSONAL_DATA,
  },
  appointments: {
    path: "/appointments",
    title: "Appointment",
    fields: meshFields(AppointmentSchema, {
      calendar_id: ref("appointments", "calendars"),
      "attendees[].contact_id": ref("crm", "contacts"),
    }),
    getMany: async (env, organizationId, ids) => (await appointmentsByIds(env.DB, organizationId, ids).all()).map(toAppointment),
    findBy: {
      calendar_id: (env, org, values, perValue) => appointmentsByCalendars(env.DB, org, values, perValue),
      "attendees[].contact_id": (env, org, values, perValue) => appointmentsByContacts(env.DB, org, values, perValue),
    },
    // Titles, word prefixes (migrations/0004): the best candidates by bm25 in one query.
    search: async (env, org, q, limit) => {
      const matches = ftsMatches("appointments_fts", "appointment_id", ["title"], org, q, searchCandidates(limit));
      if (!matches) return [];
      const rows = await db(env.DB).all<{ id: string; title: string; start_at: string; location: string | null }>(
        sql`SELECT a.id, a.title, a.start_at, a.location FROM (${matches}) AS m JOIN appointments AS a ON a.id = m.id
            WHERE +a.organization_id = ${org} ORDER BY m.rank`,
      );
      return rows.map((r) =>
        searchHit(q, {
          id: r.id,
          model: "appointments",
          type: "appointment",
          name: r.title,
          description: r.location ? `${r.start_at}, ${r.location}` : r.start_at,
        }),
      );
    },
    personalData: appointmentsPersonalData,
  },
};
