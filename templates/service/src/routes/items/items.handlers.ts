import type { RouteHandler } from "@hono/zod-openapi";
import { and, eq, sql, type SQL } from "drizzle-orm";
import { getOwnedOr404, inJson, keyset, newId, nowIso, orNotFound, ownedBy, type ServiceEnv } from "@buildly/shared";
import { db, type Db } from "../../db/client";
import { items, type ItemRow } from "../../db/schema";
import { searchCondition } from "../../lib/search";
import type * as routes from "./items.routes";

type E = ServiceEnv<Env>;

const NOT_FOUND = "No item has this id.";

/** The row as the API shows it: without the internal rid and the organization. */
export function toItem(row: ItemRow) {
  const { rid: _rid, organization_id: _org, ...rest } = row;
  return rest;
}

/** getMany("items"): the organization's items among `ids`, in one query. */
export async function loadItems(database: Db, organizationId: string, ids: string[]) {
  const rows = await database
    .select()
    .from(items)
    .where(and(eq(items.organization_id, organizationId), inJson(items.id, ids)));
  return rows.map(toItem);
}

/** The sort fields of ?sort= and their columns (each has an index ending in id). */
const SORTABLE = { created_at: items.created_at, updated_at: items.updated_at, name: items.name };

export const list: RouteHandler<typeof routes.listItems, E> = async (c) => {
  const { limit, cursor, q, status, tag, contact_id, sort } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const plan = keyset(sort, SORTABLE, items.id, cursor);
  const conditions: (SQL | undefined)[] = [eq(items.organization_id, org), plan.after];
  if (status) conditions.push(eq(items.status, status));
  if (contact_id) conditions.push(eq(items.contact_id, contact_id));
  if (tag) conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${items.tags}) WHERE value = ${tag})`);
  if (q) conditions.push(searchCondition(q, org));
  const rows = await db(c.env.DB)
    .select()
    .from(items)
    .where(and(...conditions))
    .orderBy(...plan.orderBy)
    .limit(limit + 1);
  const page = plan.page(rows, limit);
  return c.json({ data: page.data.map(toItem), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createItem, E> = async (c) => {
  const input = c.req.valid("json");
  const now = nowIso();
  const row = await db(c.env.DB)
    .insert(items)
    .values({
      id: newId(),
      organization_id: c.get("identity").organization_id,
      name: input.name,
      description: input.description ?? null,
      status: input.status ?? "active",
      contact_id: input.contact_id ?? null,
      tags: input.tags ?? [],
      created_at: now,
      updated_at: now,
    })
    .returning()
    .get();
  c.header("location", `/items/${row.id}`);
  return c.json(toItem(row), 201);
};

export const get: RouteHandler<typeof routes.getItem, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await getOwnedOr404(db(c.env.DB), items, id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toItem(row), 200);
};

export const update: RouteHandler<typeof routes.updateItem, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const row = await db(c.env.DB)
    .update(items)
    .set({ ...changes, updated_at: nowIso() })
    .where(ownedBy(items, id, c.get("identity").organization_id))
    .returning()
    .get();
  return c.json(toItem(orNotFound(row, NOT_FOUND)), 200);
};

export const remove: RouteHandler<typeof routes.deleteItem, E> = async (c) => {
  const { id } = c.req.valid("param");
  const gone = await db(c.env.DB)
    .delete(items)
    .where(ownedBy(items, id, c.get("identity").organization_id))
    .returning({ id: items.id });
  orNotFound(gone[0], NOT_FOUND);
  return c.body(null, 204);
};
