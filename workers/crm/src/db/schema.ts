import { sqliteTable, text, uniqueIndex, index } from "drizzle-orm/sqlite-core";

export const contacts = sqliteTable(
  "contacts",
  {
    id: text("id").primaryKey(),
    organization_id: text("organization_id").notNull(),
    first_name: text("first_name").notNull(),
    last_name: text("last_name").notNull(),
    email: text("email").notNull(),
    phone: text("phone"),
    company: text("company"),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("contacts_org_email").on(t.organization_id, t.email),
    index("contacts_org_created").on(t.organization_id, t.created_at, t.id),
  ],
);

export type ContactRow = typeof contacts.$inferSelect;
