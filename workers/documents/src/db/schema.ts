import { eq, sql } from "drizzle-orm";
import { foreignKey, index, integer, primaryKey, sqliteTable, text, unique, uniqueIndex } from "drizzle-orm/sqlite-core";

// Kept in step by hand with migrations/*.sql (the SQL is what runs; these types are what the code reads).

export const folders = sqliteTable(
  "folders",
  {
    id: text("id").primaryKey(),
    organization_id: text("organization_id").notNull(),
    parent_id: text("parent_id"),
    name: text("name").notNull(),
    created_by: text("created_by"),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    unique("folders_org_id").on(t.organization_id, t.id),
    foreignKey({ columns: [t.organization_id, t.parent_id], foreignColumns: [t.organization_id, t.id] }),
    uniqueIndex("folders_sibling_name").on(t.organization_id, sql`ifnull(${t.parent_id}, '')`, t.name),
    index("folders_org_created").on(t.organization_id, t.created_at, t.id),
    index("folders_org_parent_created").on(t.organization_id, t.parent_id, t.created_at, t.id),
  ],
);

export const FILE_STATUSES = ["active", "deleting"] as const;

export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    organization_id: text("organization_id").notNull(),
    folder_id: text("folder_id"),
    name: text("name").notNull(),
    content_type: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    version: integer("version").notNull().default(1),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    object_key: text("object_key").notNull(),
    status: text("status", { enum: FILE_STATUSES }).notNull().default("active"),
    created_by: text("created_by"),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    unique("files_org_id").on(t.organization_id, t.id),
    foreignKey({ columns: [t.organization_id, t.folder_id], foreignColumns: [folders.organization_id, folders.id] }),
    index("files_org_created").on(t.organization_id, t.created_at, t.id),
    index("files_org_folder_created").on(t.organization_id, t.folder_id, t.created_at, t.id),
    index("files_org_name").on(t.organization_id, sql`${t.name} COLLATE NOCASE`),
    index("files_tombstones").on(t.updated_at).where(sql`status = 'deleting'`),
  ],
);

/** A file that is not a tombstone (status 'deleting'): tombstones count as gone everywhere. */
export const activeFile = eq(files.status, "active");

export const fileVersions = sqliteTable(
  "file_versions",
  {
    file_id: text("file_id")
      .notNull()
      .references(() => files.id, { onDelete: "cascade" }),
    organization_id: text("organization_id").notNull(),
    version: integer("version").notNull(),
    content_type: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    object_key: text("object_key").notNull().unique(),
    created_by: text("created_by"),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.file_id, t.version] })],
);

/** Maintained by triggers from files.tags; read only by the ?tag= filter. */
export const fileTags = sqliteTable(
  "file_tags",
  {
    file_id: text("file_id")
      .notNull()
      .references(() => files.id, { onDelete: "cascade" }),
    organization_id: text("organization_id").notNull(),
    tag: text("tag").notNull(),
  },
  (t) => [primaryKey({ columns: [t.file_id, t.tag] }), index("file_tags_org_tag").on(t.organization_id, t.tag, t.file_id)],
);

/** The upload journal: objects being written that no row points at yet. */
export const uploads = sqliteTable(
  "uploads",
  {
    object_key: text("object_key").primaryKey(),
    organization_id: text("organization_id").notNull(),
    file_id: text("file_id").notNull(),
    started_at: text("started_at").notNull(),
  },
  (t) => [index("uploads_started").on(t.started_at)],
);

export type FolderRow = typeof folders.$inferSelect;
export type FileRow = typeof files.$inferSelect;
export type FileVersionRow = typeof fileVersions.$inferSelect;
