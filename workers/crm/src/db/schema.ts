import { check, foreignKey, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { sql } from "drizzle-orm";

/*
 * The drizzle view of migrations/*.sql (the SQL is what runs; keep both in step). Not expressible
 * here and only in the SQL: COLLATE NOCASE on names and titles, and the FTS5 tables
 * contacts_fts, companies_fts and deals_fts with the triggers that keep them in step.
 *
 * `rid` is the INTEGER PRIMARY KEY the FTS5 external content points at; the API never shows it.
 * References are composite (organization_id, x_id) foreign keys: a row can only point at a
 * record of its own organization.
 */

export type CustomFields = Record<string, string | number | boolean>;

export interface Stage {
  id: string;
  name: string;
}

export const companies = sqliteTable(
  "companies",
  {
    rid: integer("rid").primaryKey(),
    id: text("id").notNull(),
    organization_id: text("organization_id").notNull(),
    name: text("name").notNull(),
    domain: text("domain"),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    custom_fields: text("custom_fields", { mode: "json" }).$type<CustomFields>().notNull().default({}),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("companies_org_id").on(t.organization_id, t.id),
    index("companies_org_created").on(t.organization_id, t.created_at, t.id),
    index("companies_org_updated").on(t.organization_id, t.updated_at, t.id),
    index("companies_org_name").on(t.organization_id, t.name, t.id),
    index("companies_org_domain").on(t.organization_id, t.domain, t.id),
  ],
);

export const contacts = sqliteTable(
  "contacts",
  {
    rid: integer("rid").primaryKey(),
    id: text("id").notNull(),
    organization_id: text("organization_id").notNull(),
    first_name: text("first_name").notNull(),
    last_name: text("last_name").notNull(),
    email: text("email").notNull(),
    phone: text("phone"),
    company_id: text("company_id"),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    custom_fields: text("custom_fields", { mode: "json" }).$type<CustomFields>().notNull().default({}),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("contacts_org_id").on(t.organization_id, t.id),
    uniqueIndex("contacts_org_email").on(t.organization_id, t.email),
    index("contacts_org_created").on(t.organization_id, t.created_at, t.id),
    index("contacts_org_updated").on(t.organization_id, t.updated_at, t.id),
    index("contacts_org_first_name").on(t.organization_id, t.first_name, t.id),
    index("contacts_org_last_name").on(t.organization_id, t.last_name, t.id),
    index("contacts_org_company").on(t.organization_id, t.company_id, t.created_at, t.id),
    foreignKey({ columns: [t.organization_id, t.company_id], foreignColumns: [companies.organization_id, companies.id] }),
  ],
);

export const pipelines = sqliteTable(
  "pipelines",
  {
    rid: integer("rid").primaryKey(),
    id: text("id").notNull(),
    organization_id: text("organization_id").notNull(),
    name: text("name").notNull(),
    stages: text("stages", { mode: "json" }).$type<Stage[]>().notNull(),
    is_default: integer("is_default", { mode: "boolean" }).notNull().default(false),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("pipelines_org_id").on(t.organization_id, t.id),
    index("pipelines_org_created").on(t.organization_id, t.created_at, t.id),
    index("pipelines_org_name").on(t.organization_id, t.name, t.id),
  ],
);

/** Organizations the CRM has given a default pipeline (organizations themselves live at the gateway). */
export const provisionedOrganizations = sqliteTable("provisioned_organizations", {
  organization_id: text("organization_id").primaryKey(),
  default_pipeline_id: text("default_pipeline_id").notNull(),
  provisioned_at: text("provisioned_at").notNull(),
});

export const deals = sqliteTable(
  "deals",
  {
    rid: integer("rid").primaryKey(),
    id: text("id").notNull(),
    organization_id: text("organization_id").notNull(),
    title: text("title").notNull(),
    /** Minor units of `currency` (cents for EUR). */
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    pipeline_id: text("pipeline_id").notNull(),
    /** The id of one of the pipeline's stages. */
    stage: text("stage").notNull(),
    contact_id: text("contact_id"),
    company_id: text("company_id"),
    expected_close_date: text("expected_close_date"),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("deals_org_id").on(t.organization_id, t.id),
    index("deals_org_created").on(t.organization_id, t.created_at, t.id),
    index("deals_org_updated").on(t.organization_id, t.updated_at, t.id),
    index("deals_org_title").on(t.organization_id, t.title, t.id),
    index("deals_org_amount").on(t.organization_id, t.amount, t.id),
    index("deals_org_close").on(t.organization_id, t.expected_close_date, t.id),
    index("deals_org_pipeline_stage").on(t.organization_id, t.pipeline_id, t.stage, t.created_at, t.id),
    index("deals_org_contact").on(t.organization_id, t.contact_id, t.created_at, t.id),
    index("deals_org_company").on(t.organization_id, t.company_id, t.created_at, t.id),
    check("deals_amount_check", sql`${t.amount} >= 0`),
    foreignKey({ columns: [t.organization_id, t.pipeline_id], foreignColumns: [pipelines.organization_id, pipelines.id] }),
    foreignKey({ columns: [t.organization_id, t.contact_id], foreignColumns: [contacts.organization_id, contacts.id] }),
    foreignKey({ columns: [t.organization_id, t.company_id], foreignColumns: [companies.organization_id, companies.id] }),
  ],
);

export const ACTIVITY_TYPES = ["note", "call", "email", "meeting"] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export const activities = sqliteTable(
  "activities",
  {
    rid: integer("rid").primaryKey(),
    id: text("id").notNull(),
    organization_id: text("organization_id").notNull(),
    type: text("type", { enum: ACTIVITY_TYPES }).notNull(),
    contact_id: text("contact_id"),
    company_id: text("company_id"),
    deal_id: text("deal_id"),
    occurred_at: text("occurred_at").notNull(),
    body: text("body").notNull(),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("activities_org_id").on(t.organization_id, t.id),
    index("activities_org_occurred").on(t.organization_id, t.occurred_at, t.id),
    index("activities_org_created").on(t.organization_id, t.created_at, t.id),
    index("activities_org_contact").on(t.organization_id, t.contact_id, t.occurred_at, t.id),
    index("activities_org_company").on(t.organization_id, t.company_id, t.occurred_at, t.id),
    index("activities_org_deal").on(t.organization_id, t.deal_id, t.occurred_at, t.id),
    index("activities_org_type").on(t.organization_id, t.type, t.occurred_at, t.id),
    check("activities_linked", sql`${t.contact_id} IS NOT NULL OR ${t.company_id} IS NOT NULL OR ${t.deal_id} IS NOT NULL`),
    foreignKey({ columns: [t.organization_id, t.contact_id], foreignColumns: [contacts.organization_id, contacts.id] }),
    foreignKey({ columns: [t.organization_id, t.company_id], foreignColumns: [companies.organization_id, companies.id] }),
    foreignKey({ columns: [t.organization_id, t.deal_id], foreignColumns: [deals.organization_id, deals.id] }),
  ],
);

export type CompanyRow = typeof companies.$inferSelect;
export type ContactRow = typeof contacts.$inferSelect;
export type PipelineRow = typeof pipelines.$inferSelect;
export type DealRow = typeof deals.$inferSelect;
export type ActivityRow = typeof activities.$inferSelect;
