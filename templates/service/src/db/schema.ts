import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/*
 * The tables of migrations/ as drizzle sees them (the SQL files are the source of truth; keep
 * both in step). `rid` is the INTEGER PRIMARY KEY the FTS5 index points at; the API never shows it.
 */

export const ITEM_STATUSES = ["active", "archived"] as const;

export const items = sqliteTable(
  "items",
  {
    rid: integer("rid").primaryKey(),
    id: text("id").notNull(),
    organization_id: text("organization_id").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    status: text("status", { enum: ITEM_STATUSES }).notNull().default("active"),
    contact_id: text("contact_id"),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("items_org_id").on(t.organization_id, t.id),
    index("items_org_created").on(t.organization_id, t.created_at, t.id),
    index("items_org_updated").on(t.organization_id, t.updated_at, t.id),
    index("items_org_name").on(t.organization_id, t.name, t.id),
    index("items_org_status").on(t.organization_id, t.status, t.created_at, t.id),
    index("items_org_contact").on(t.organization_id, t.contact_id, t.created_at, t.id),
  ],
);

export type ItemRow = typeof items.$inferSelect;
