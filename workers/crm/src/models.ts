import { desc, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import {
  NO_PERSONAL_DATA,
  ftsMatches,
  meshFields,
  newestPerValue,
  ref,
  searchCandidates,
  searchHit,
  type FindByLoader,
  type MeshModelDefinition,
  type SearchHit,
  type SearchLoader,
} from "@buildly/shared";
import { db } from "./db/client";
import { activities, contacts, deals } from "./db/schema";
import { activitiesPersonalData, contactsPersonalData, dealsPersonalData } from "./privacy";
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

/**
 * search on one model through its FTS5 table (the same word-prefix matching as the lists' `q`):
 * the best candidates by bm25 in one query, then scored on the record's name for the mesh.
 * `+t.organization_id` keeps SQLite from walking the organization's index instead of looking
 * the candidates up by primary key (the FTS match is already narrowed to the organization).
 */
function fullText<R extends { id: string }>(
  fts: string,
  columns: readonly string[],
  select: string,
  table: string,
  hit: (q: string, row: R) => SearchHit,
): SearchLoader<Env> {
  return async (env, org, q, limit) => {
    const matches = ftsMatches(fts, "rowid", columns, org, q, searchCandidates(limit));
    if (!matches) return [];
    const rows = await db(env.DB).all<R>(
      sql`SELECT ${sql.raw(select)} FROM (${matches}) AS m JOIN ${sql.identifier(table)} AS t ON t.rid = m.id WHERE +t.organization_id = ${org} ORDER BY m.rank`,
    );
    return rows.map((row) => hit(q, row));
  };
}

/** 1250000 EUR -> "€12,500.00" (amounts are in minor units). */
function money(amount: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat("en", { style: "currency", currency });
    return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${amount} ${currency}`;
  }
}

type ContactHit = { id: string; first_name: string; last_name: string; email: string };
type CompanyHit = { id: string; name: string; domain: string | null };
type DealHit = { id: string; title: string; amount: number; currency: string };

const searchContacts = fullText<ContactHit>(
  "contacts_fts",
  ["first_name", "last_name", "email", "phone"],
  "t.id, t.first_name, t.last_name, t.email",
  "contacts",
  (q, r) => searchHit(q, { id: r.id, model: "contacts", type: "contact", name: `${r.first_name} ${r.last_name}`, description: r.email }, [r.email]),
);
const searchCompanies = fullText<CompanyHit>("companies_fts", ["name", "domain"], "t.id, t.name, t.domain", "companies", (q, r) =>
  searchHit(q, { id: r.id, model: "companies", type: "company", name: r.name, description: r.domain }, [r.domain]),
);
const searchDeals = fullText<DealHit>("deals_fts", ["title"], "t.id, t.title, t.amount, t.currency", "deals", (q, r) =>
  searchHit(q, { id: r.id, model: "deals", type: "deal", name: r.title, description: money(r.amount, r.currency) }),
);

export const models: Record<string, MeshModelDefinition<Env>> = {
  contacts: {
    path: "/contacts",
    title: "Contact",
    fields: meshFields(ContactSchema, { company_id: crm("companies") }),
    getMany: (env, org, ids) => loadContacts(db(env.DB), org, ids),
    findBy: { company_id: lookup(contacts, contacts.company_id, toContact) },
    search: searchContacts,
    personalData: contactsPersonalData,
  },
  companies: {
    path: "/companies",
    title: "Company",
    fields: meshFields(CompanySchema),
    getMany: (env, org, ids) => loadCompanies(db(env.DB), org, ids),
    search: searchCompanies,
    personalData: NO_PERSONAL_DATA,
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
    search: searchDeals,
    personalData: dealsPersonalData,
  },
  pipelines: {
    path: "/pipelines",
    title: "Pipeline",
    fields: meshFields(PipelineSchema),
    getMany: (env, org, ids) => loadPipelines(db(env.DB), org, ids),
    personalData: NO_PERSONAL_DATA,
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
    personalData: activitiesPersonalData,
  },
};
