import type { RouteHandler } from "@hono/zod-openapi";
import { and, count, eq, sql, type SQL } from "drizzle-orm";
import { ApiError, newId, nowIso, type ServiceEnv, getOwnedOr404, inJson, keyset, notFound, ownedBy, requireOwned } from "@buildly/shared";
import { db, insertWhere, isForeignKeyViolation, isUniqueViolation, type Db } from "../../db/client";
import { contacts, deals, type ContactRow } from "../../db/schema";
import { activityCleanup, notReferenced } from "../../lib/deletion";
import { referencesExist, throwReferenceError } from "../../lib/references";
import { searchCondition } from "../../lib/search";
import type * as routes from "./contacts.routes";

type E = ServiceEnv<Env>;

export function toContact(row: ContactRow) {
  const { rid: _rid, organization_id: _org, ...rest } = row;
  return rest;
}

/** getMany("contacts"): the organization's contacts among `ids`, in one query. */
export async function loadContacts(database: Db, organizationId: string, ids: string[]) {
  const rows = await database
    .select()
    .from(contacts)
    .where(and(eq(contacts.organization_id, organizationId), inJson(contacts.id, ids)));
  return rows.map(toContact);
}

const NOT_FOUND = "No contact has this id.";

function duplicateEmail(): ApiError {
  return new ApiError(409, "Another contact in this organization already has this email.", {
    errors: [{ path: "email", message: "Already in use" }],
  });
}

const SORTABLE = {
  created_at: contacts.created_at,
  updated_at: contacts.updated_at,
  first_name: contacts.first_name,
  last_name: contacts.last_name,
  email: contacts.email,
};

export const list: RouteHandler<typeof routes.listContacts, E> = async (c) => {
  const { limit, cursor, q, company_id, tag, sort } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const plan = keyset(sort, SORTABLE, contacts.id, cursor);
  const conditions: (SQL | undefined)[] = [eq(contacts.organization_id, org), plan.after];
  if (company_id) conditions.push(eq(contacts.company_id, company_id));
  if (tag) conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${contacts.tags}) WHERE value = ${tag})`);
  if (q) conditions.push(searchCondition("contacts_fts", contacts.rid, ["first_name", "last_name", "email", "phone"], org, q));
  const rows = await db(c.env.DB)
    .select()
    .from(contacts)
    .where(and(...conditions))
    .orderBy(...plan.orderBy)
    .limit(limit + 1);
  const page = plan.page(rows, limit);
  return c.json({ data: page.data.map(toContact), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createContact, E> = async (c) => {
  const input = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const now = nowIso();
  const row = {
    id: newId(),
    organization_id: org,
    first_name: input.first_name,
    last_name: input.last_name,
    email: input.email,
    phone: input.phone ?? null,
    company_id: input.company_id ?? null,
    tags: input.tags ?? [],
    custom_fields: input.custom_fields ?? {},
    created_at: now,
    updated_at: now,
  };
  const refs = { company_id: row.company_id };
  let inserted: boolean;
  try {
    inserted = await insertWhere(database, contacts, row, referencesExist(org, refs));
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateEmail();
    if (isForeignKeyViolation(err)) return throwReferenceError(database, org, refs);
    throw err;
  }
  if (!inserted) return throwReferenceError(database, org, refs);
  const { organization_id: _org, ...shown } = row;
  c.header("location", `/contacts/${row.id}`);
  return c.json(shown, 201);
};

export const get: RouteHandler<typeof routes.getContact, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await getOwnedOr404(db(c.env.DB), contacts, id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toContact(row), 200);
};

export const update: RouteHandler<typeof routes.updateContact, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const refs = { company_id: changes.company_id };
  let row: ContactRow | undefined;
  try {
    row = await database
      .update(contacts)
      .set({ ...changes, updated_at: nowIso() })
      .where(and(eq(contacts.id, id), eq(contacts.organization_id, org), referencesExist(org, refs)))
      .returning()
      .get();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateEmail();
    if (isForeignKeyViolation(err)) return throwReferenceError(database, org, refs);
    throw err;
  }
  if (row) return c.json(toContact(row), 200);
  await requireOwned(database, contacts, id, org, NOT_FOUND);
  return throwReferenceError(database, org, refs);
};

export const remove: RouteHandler<typeof routes.deleteContact, E> = async (c) => {
  const { id } = c.req.valid("param");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const noDeals = notReferenced(deals, deals.contact_id, org, id);
  const results = await database.batch([
    ...activityCleanup(database, org, "contact_id", id, noDeals),
    database
      .delete(contacts)
      .where(and(eq(contacts.organization_id, org), eq(contacts.id, id), noDeals))
      .returning({ id: contacts.id }),
  ]);
  if (results[2].length === 1) return c.body(null, 204);
  const [exists, dealCount] = await database.batch([
    database
      .select({ id: contacts.id })
      .from(contacts)
      .where(ownedBy(contacts, id, org)),
    database
      .select({ n: count() })
      .from(deals)
      .where(and(eq(deals.organization_id, org), eq(deals.contact_id, id))),
  ]);
  if (exists.length === 0) throw notFound(NOT_FOUND);
  const n = dealCount[0]?.n ?? 0;
  throw new ApiError(409, `The contact is still referenced by ${n} deal(s); move or delete them first.`, { extensions: { deals: n } });
};
