import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    organization_id: text("organization_id").notNull(),
    name: text("name").notNull(),
    content_type: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    version: integer("version").notNull().default(1),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    object_key: text("object_key").notNull(),
    created_by: text("created_by"),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [index("files_org_created").on(t.organization_id, t.created_at, t.id)],
);

export type FileRow = typeof files.$inferSelect;
