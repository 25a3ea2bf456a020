import { primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const RELATIONSHIP_KINDS = ["join_records", "field"] as const;
export type RelationshipKind = (typeof RELATIONSHIP_KINDS)[number];
export type FieldSide = "origin" | "related";
/** What deleting a referenced record does to the records referring to it (mesh/on-delete.ts). */
export const ON_DELETE_ACTIONS = ["restrict", "set_null", "cascade", "unlink"] as const;
export type OnDelete = (typeof ON_DELETE_ACTIONS)[number];

/** An organization's own relationships (the platform's defaults live in code). */
export const meshRelationships = sqliteTable("mesh_relationships", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  key: text("key").notNull(),
  reverse_key: text("reverse_key").notNull(),
  origin_service: text("origin_service").notNull(),
  origin_model: text("origin_model").notNull(),
  related_service: text("related_service").notNull(),
  related_model: text("related_model").notNull(),
  kind: text("kind", { enum: RELATIONSHIP_KINDS }).notNull(),
  field: text("field"),
  field_on: text("field_on", { enum: ["origin", "related"] }),
  on_delete: text("on_delete", { enum: ON_DELETE_ACTIONS }).notNull(),
  created_at: text("created_at").notNull(),
});
export type RelationshipRow = typeof meshRelationships.$inferSelect;

/** The keys relationships add to models: unique per (organization, service, model). */
export const meshRelationshipKeys = sqliteTable(
  "mesh_relationship_keys",
  {
    organization_id: text("organization_id").notNull(),
    service: text("service").notNull(),
    model: text("model").notNull(),
    key: text("key").notNull(),
    relationship_id: text("relationship_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organization_id, t.service, t.model, t.key] })],
);

/** One link between two records of a join_records relationship. */
export const meshJoins = sqliteTable("mesh_joins", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  relationship_id: text("relationship_id").notNull(),
  origin_service: text("origin_service").notNull(),
  origin_model: text("origin_model").notNull(),
  origin_id: text("origin_id").notNull(),
  related_service: text("related_service").notNull(),
  related_model: text("related_model").notNull(),
  related_id: text("related_id").notNull(),
  created_at: text("created_at").notNull(),
});
export type JoinRow = typeof meshJoins.$inferSelect;
