import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export type WorkingHours = Record<Weekday, { start: string; end: string }[]>;

export const calendars = sqliteTable(
  "calendars",
  {
    id: text("id").primaryKey(),
    organization_id: text("organization_id").notNull(),
    name: text("name").notNull(),
    time_zone: text("time_zone").notNull(),
    working_hours: text("working_hours", { mode: "json" }).$type<WorkingHours>().notNull(),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [index("calendars_org_created").on(t.organization_id, t.created_at, t.id)],
);

export type CalendarRow = typeof calendars.$inferSelect;

export const APPOINTMENT_STATUSES = ["scheduled", "cancelled", "completed"] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

export interface Attendee {
  contact_id: string | null;
  email: string;
  name: string;
}

export const appointments = sqliteTable(
  "appointments",
  {
    id: text("id").primaryKey(),
    organization_id: text("organization_id").notNull(),
    calendar_id: text("calendar_id")
      .notNull()
      .references(() => calendars.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    /** First start and end, RFC 3339 UTC. */
    start_at: text("start_at").notNull(),
    end_at: text("end_at").notNull(),
    /**
     * Not part of the API: an upper bound on the end of the last occurrence (end_at for a
     * one-off; the last occurrence within the horizon plus two days for a series, so it stays a
     * bound whatever time zone the calendar moves to). Window queries prune on it.
     */
    range_end: text("range_end").notNull(),
    attendees: text("attendees", { mode: "json" }).$type<Attendee[]>().notNull().default(sql`'[]'`),
    location: text("location"),
    status: text("status", { enum: APPOINTMENT_STATUSES }).notNull(),
    /** Canonical RRULE value (FREQ=...;...), or null for a one-off. */
    recurrence: text("recurrence"),
    /** Not part of the API: bumped on every write, for compare-and-set updates. */
    version: integer("version").notNull().default(1),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    index("appointments_org_created").on(t.organization_id, t.created_at, t.id),
    index("appointments_org_calendar_created").on(t.organization_id, t.calendar_id, t.created_at, t.id),
    index("appointments_calendar_range").on(t.organization_id, t.calendar_id, t.range_end, t.start_at),
    index("appointments_org_range").on(t.organization_id, t.range_end, t.start_at),
  ],
);

export type AppointmentRow = typeof appointments.$inferSelect;

/**
 * The CRM contacts each appointment's attendees name, one row each (migrations/0003): kept in step
 * with appointments.attendees by triggers, read only by findBy("appointments", "attendees[].contact_id").
 */
export const appointmentContacts = sqliteTable(
  "appointment_contacts",
  {
    appointment_id: text("appointment_id")
      .notNull()
      .references(() => appointments.id, { onDelete: "cascade" }),
    organization_id: text("organization_id").notNull(),
    contact_id: text("contact_id").notNull(),
    /** The appointment's created_at, so the newest per contact come from the index. */
    created_at: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.appointment_id, t.contact_id] }),
    index("appointment_contacts_org_contact").on(t.organization_id, t.contact_id, t.created_at, t.appointment_id),
  ],
);

/** A calendar's secret feed URL, kept only as the SHA-256 (hex) of its token. */
export const calendarFeedTokens = sqliteTable("calendar_feed_tokens", {
  calendar_id: text("calendar_id")
    .primaryKey()
    .references(() => calendars.id, { onDelete: "cascade" }),
  organization_id: text("organization_id").notNull(),
  token_hash: text("token_hash").notNull().unique(),
  created_at: text("created_at").notNull(),
});
