import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Definition } from "../definition";

/** migrations/0003_workflows.sql */
export const workflowTemplates = sqliteTable("workflow_templates", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  latest_version: integer("latest_version").notNull(),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
});

export const workflowTemplateVersions = sqliteTable(
  "workflow_template_versions",
  {
    template_id: text("template_id").notNull(),
    version: integer("version").notNull(),
    organization_id: text("organization_id").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    definition: text("definition", { mode: "json" }).$type<Definition>().notNull(),
    created_by: text("created_by"),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.template_id, t.version] })],
);
export type TemplateVersionRow = typeof workflowTemplateVersions.$inferSelect;

export interface InstanceInit {
  data: Record<string, unknown>;
  created_by: { type: "user" | "client" | "system"; id: string | null };
}

export const workflowInstances = sqliteTable("workflow_instances", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  template_id: text("template_id").notNull(),
  template_version: integer("template_version").notNull(),
  state: text("state").notNull(),
  terminal: integer("terminal", { mode: "boolean" }).notNull().default(false),
  version: integer("version").notNull(),
  subject_service: text("subject_service"),
  subject_model: text("subject_model"),
  subject_id: text("subject_id"),
  parent_id: text("parent_id"),
  init: text("init", { mode: "json" }).$type<InstanceInit>().notNull(),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
});
export type InstanceIndexRow = typeof workflowInstances.$inferSelect;
