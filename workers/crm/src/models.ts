import { desc } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { meshFields, newestPerValue, ref, type FindByLoader, type MeshModelDefinition } from "@buildly/shared";
import { db } from "./db/client";
import { activities, companies, contacts, deals } from "./db/schema";
import { loadActivities, toActivity } from "./routes/activities/activities.handlers";
import { ActivitySchema } from "./routes/activities/activities.schemas";
import { loadCompanies } from "./routes/companies/companies.handlers";
import { CompanySchema } from "./routes/companies/companies.schemas";
import { loadContacts, toContact } from "./routes/contacts/contacts.handlers";
import { ContactSchema } from "./routes/contacts/contacts.schemas";
import { loadDeals, toDeal } from "./routes/deals/deals.handlers";
import { DealSchema } from "./routes/deals/deals.schemas";
import { loadPipelines } from "./routes/pipelines/pipelines.handlers";
import { PipelineSchema } from "./routes/pipelines/pipelines.schemas";

/*
 * The CRM's models as the data mesh sees them (describe, getMany, findBy, search over RPC).
 * Fields are read off the response schemas the routes answer with; the notes add references.
 * getMany does not provision the default pipeline; the pipelines and deals routes do.
 */

type LookupTable = typeof contacts | typeof deals | typeof activities;

/** findBy on `column` of `table`: one query, newest first, at most perValue per value. */
function lookup<R>(table: LookupTable, column: AnySQLiteColumn, shape: (row: R) => Record<string, unknown>): FindByLoader<Env> {
  return async (env, org, values, perValue) => {
    const t = { table, key: table.rid, organization: table.organization_id, created: table.created_at, id: table.id };
    const rows = await db(env.DB)
      .select()
      .from(table)
      .where(newestPerValue(t, column, org, values, perValue))
      .orderBy(desc(table.created_at), desc(table.id));
    return (rows as R[]).map(shape);
  };
}

const crm = (model: string) => ref("crm", model);

export const models: Record<string, MeshModelDefinition<Env>> = {
  contacts: {
    path: "/contacts",
    title: "Contact",
    fields: meshFields(ContactSchema, { company_id: crm("companies") }),
    getMany: (env, org, ids) => loadContacts(db(env.DB), org, ids),
    findBy: { company_id: lookup(contacts, contacts.company_id, toContact) },
  },
  companies: {
    path: "/companies",
    title: "Company",
    fields: meshFields(CompanySchema),
    getMany: (env, org, ids) => loadCompanies(db(env.DB), org, ids),
  },
  deals: {
    path: "/deals",
    title: "Deal",
    fields: meshFields(DealSchema, {
      pipeline_id: crm("pipelines"),
      contact_id: crm("contacts"),
      company_id: crm("companies"),
      expected_close_date: { type: "date" },
    }),
    getMany: (env, org, ids) => loadDeals(db(env.DB), org, ids),
    findBy: {
      pipeline_id: lookup(deals, deals.pipeline_id, toDeal),
      contact_id: lookup(deals, deals.contact_id, toDeal),
      company_id: lookup(deals, deals.company_id, toDeal),
    },
  },
  pipelines: {
    path: "/pipelines",
    title: "Pipeline",
    fields: meshFields(PipelineSchema),
    getMany: (env, org, ids) => loadPipelines(db(env.DB), org, ids),
  },
  activities: {
    path: "/activities",
    title: "Activity",
    fields: meshFields(ActivitySchema, { contact_id: crm("contacts"), company_id: crm("companies"), deal_id: crm("deals"), body: { type: "text" } }),
    getMany: (env, org, ids) => loadActivities(db(env.DB), org, ids),
    findBy: {
      contact_id: lookup(activities, activities.contact_id, toActivity),
      company_id: lookup(activities, activities.company_id, toActivity),
      deal_id: lookup(activities, activities.deal_id, toActivity),
    },
  },
};
