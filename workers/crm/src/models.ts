import type { GetManyLoader } from "@buildly/shared";
import { db } from "./db/client";
import { loadActivities } from "./routes/activities/activities.handlers";
import { loadCompanies } from "./routes/companies/companies.handlers";
import { loadContacts } from "./routes/contacts/contacts.handlers";
import { loadDeals } from "./routes/deals/deals.handlers";
import { loadPipelines } from "./routes/pipelines/pipelines.handlers";

/**
 * The batched reads by id the data mesh joins on (getMany over RPC): one query each, scoped to
 * the caller's organization, rows shaped as the API shows them. getMany does not provision the
 * default pipeline; the pipelines and deals routes do.
 */
export const models: Record<string, GetManyLoader<Env>> = {
  contacts: (env, org, ids) => loadContacts(db(env.DB), org, ids),
  companies: (env, org, ids) => loadCompanies(db(env.DB), org, ids),
  deals: (env, org, ids) => loadDeals(db(env.DB), org, ids),
  pipelines: (env, org, ids) => loadPipelines(db(env.DB), org, ids),
  activities: (env, org, ids) => loadActivities(db(env.DB), org, ids),
};
