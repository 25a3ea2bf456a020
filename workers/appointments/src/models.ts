import { and, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { NO_PERSONAL_DATA, ftsMatches, meshFields, newestPerValue, ref, searchCandidates, searchHit, type MeshModelDefinition, inJson } from "@buildly/shared";
import { db } from "./db/client";
import { appointmentContacts, appointments, calendars, type CalendarRow } from "./db/schema";
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
 */
const MESH_APPOINTMENT_JSON = sql.raw(
  `json_object('id', id, 'calendar_id', calendar_id, 'title', title, 'start', start_at, 'end', end_at, 'attendees', json(attendees), 'location', location, 'status', status, 'recurrence', recurrence, 'created_at', created_at, 'updated_at', updated_at)`,
);

async function meshAppointments(d1: D1Database, where: SQL): Promise<Appointment[]> {
  // An aggregate over an ordered subquery keeps its order (SQLite does not flatten it).
  const [row] = await db(d1).all<{ list: string }>(
    sql`SELECT json_group_array(${MESH_APPOINTMENT_JSON}) AS list FROM (SELECT * FROM ${appointments} WHERE ${where} ORDER BY ${appointments.created_at} DESC, ${appointments.id} DESC)`,
  );
  return row ? (JSON.parse(row.list) as Appointment[]) : [];
}

/** findBy("appointments", "attendees[].contact_id"): through the appointment_contacts lookup table. */
export function appointmentsByContacts(d1: D1Database, organizationId: string, contactIds: string[], perValue: number) {
  const t = {
    table: appointmentContacts,
    key: appointmentContacts.appointment_id,
    outerKey: appointments.id,
    organization: appointmentContacts.organization_id,
    created: appointmentContacts.created_at,
    id: appointmentContacts.appointment_id,
  };
  return meshAppointments(d1, newestPerValue(t, appointmentContacts.contact_id, organizationId, contactIds, perValue));
}

/** findBy("appointments", "calendar_id"). */
export function appointmentsByCalendars(d1: D1Database, organizationId: string, calendarIds: string[], perValue: number) {
  const t = { table: appointments, key: appointments.id, organization: appointments.organization_id, created: appointments.created_at, id: appointments.id };
  return meshAppointments(d1, newestPerValue(t, appointments.calendar_id, organizationId, calendarIds, perValue));
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
