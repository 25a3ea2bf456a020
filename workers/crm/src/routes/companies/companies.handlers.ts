import type { RouteHandler } from "@hono/zod-openapi";
import { and, count, eq, sql, type SQL } from "drizzle-orm";
import { ApiError, newId, nowIso, type ServiceEnv, getOwnedOr404, inJson, keyset, notFound, ownedBy } from "@buildly/shared";
import { db, type Db } from "../../db/client";
import { companies, contacts, deals, type CompanyRow } from "../../db/schema";
import { activityCleanup, notReferenced } from "../../lib/deletion";
import { searchCondition } from "../../lib/search";
import type * as routes from "./companies.routes";

type E = ServiceEnv<Env>;

export function toCompany(row: CompanyRow) {
  const { rid: _rid, organization_id: _org, ...rest } = row;
  return rest;
}

/** getMany("companies"): the organization's companies among `ids`, in one query. */
export async function loadCompanies(database: Db, organizationId: string, ids: string[]) {
  const rows = await database
    .select()
    .from(companies)
    .where(and(eq(companies.organization_id, organizationId), inJson(companies.id, ids)));
  return rows.map(toCompany);
}

const NOT_FOUND = "No company has this id.";

const SORTABLE = {
  created_at: companies.created_at,
  updated_at: companies.updated_at,
  name: companies.name,
  domain: companies.domain,
};

export const list: RouteHandler<typeof routes.listCompanies, E> = async (c) => {
  const { limit, cursor, q, tag, sort } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const plan = keyset(sort, SORTABLE, companies.id, cursor);
  const conditions: (SQL | undefined)[] = [eq(companies.organization_id, org), plan.after];
  if (tag) conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${companies.tags}) WHERE value = ${tag})`);
  if (q) conditions.push(searchCondition("companies_fts", companies.rid, ["name", "domain"], org, q));
  const rows = await db(c.env.DB)
    .select()
    .from(companies)
    .where(and(...conditions))
    .orderBy(...plan.orderBy)
    .limit(limit + 1);
  const page = plan.page(rows, limit);
  return c.json({ data: page.data.map(toCompany), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createCompany, E> = async (c) => {
  const input = c.req.valid("json");
  const now = nowIso();
  const row = await db(c.env.DB)
    .insert(companies)
    .values({
      id: newId(),
      organization_id: c.get("identity").organization_id,
      name: input.name,
      domain: input.domain ?? null,
      tags: input.tags ?? [],
      custom_fields: input.custom_fields ?? {},
      created_at: now,
      updated_at: now,
    })
    .returning()
    .get();
  c.header("location", `/companies/${row.id}`);
  return c.json(toCompany(row), 201);
};

export const get: RouteHandler<typeof routes.getCompany, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await getOwnedOr404(db(c.env.DB), companies, id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toCompany(row), 200);
};

export const update: RouteHandler<typeof routes.updateCompany, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const row = await db(c.env.DB)
    .update(companies)
    .set({ ...changes, updated_at: nowIso() })
    .where(ownedBy(companies, id, c.get("identity").organization_id))
    .returning()
    .get();
  if (!row) throw notFound(NOT_FOUND);
  return c.json(toCompany(row), 200);
};

export const remove: RouteHandler<typeof routes.deleteCompany, E> = async (c) => {
  const { id } = c.req.valid("param");
  const { detach } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const noDeals = notReferenced(deals, deals.company_id, org, id);
  const noContacts = notReferenced(contacts, contacts.company_id, org, id);
  // With detach=contacts the contacts are let go first, in the same transaction as the delete.
  const guard = detach === "contacts" ? noDeals : and(noDeals, noContacts)!;
  const detachContacts = database
    .update(contacts)
    .set({ company_id: null, updated_at: nowIso() })
    // Without detach=contacts this statement matches nothing (a constant false keeps the batch's shape fixed).
    .where(and(eq(contacts.organization_id, org), eq(contacts.company_id, id), noDeals, detach === "contacts" ? sql`1` : sql`0`));
  const results = await database.batch([
    ...activityCleanup(database, org, "company_id", id, guard),
    detachContacts,
    database
      .delete(companies)
      .where(and(eq(companies.organization_id, org), eq(companies.id, id), noDeals, noContacts))
      .returning({ id: companies.id }),
  ]);
  if (results[3].length === 1) return c.body(null, 204);

  const [exists, contactCount, dealCount] = await database.batch([
    database
      .select({ id: companies.id })
      .from(companies)
      .where(ownedBy(companies, id, org)),
    database
      .select({ n: count() })
      .from(contacts)
      .where(and(eq(contacts.organization_id, org), eq(contacts.company_id, id))),
    database
      .select({ n: count() })
      .from(deals)
      .where(and(eq(deals.organization_id, org), eq(deals.company_id, id))),
  ]);
  if (exists.length === 0) throw notFound(NOT_FOUND);
  const contactsLeft = contactCount[0]?.n ?? 0;
  const dealsLeft = dealCount[0]?.n ?? 0;
  const blockers = [dealsLeft ? `${dealsLeft} deal(s)` : "", contactsLeft ? `${contactsLeft} contact(s)` : ""].filter(Boolean).join(" and ");
  throw new ApiError(
    409,
    `The company is still referenced by ${blockers || "other records"}. ` +
      "Move or delete its deals first; its contacts can be detached with ?detach=contacts.",
    { extensions: { deals: dealsLeft, contacts: contactsLeft } },
  );
};
