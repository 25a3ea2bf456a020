import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
