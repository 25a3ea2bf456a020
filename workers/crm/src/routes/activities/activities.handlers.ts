import type { RouteHandler } from "@hono/zod-openapi";
import { and, eq, type SQL } from "drizzle-orm";
import { newId, nowIso, type ServiceEnv, getOwnedOr404, inJson, keyset, notFound, ownedBy, requireOwned, fieldError } from "@buildly/shared";
import { db, insertWhere, isCheckViolation, isForeignKeyViolation, type Db } from "../../db/client";
import { activities, type ActivityRow } from "../../db/schema";
import { referencesExist, throwReferenceError, type References } from "../../lib/references";
import { LINK_MESSAGE } from "./activities.schemas";
import type * as routes from "./activities.routes";

type E = ServiceEnv<Env>;

export function toActivity(row: ActivityRow) {
  const { rid: _rid, organization_id: _org, ...rest } = row;
  return rest;
}

/** getMany("activities"): the organization's activities among `ids`, in one query. */
export async function loadActivities(database: Db, organizationId: string, ids: string[]) {
  const rows = await database
    .select()
    .from(activities)
    .where(and(eq(activities.organization_id, organizationId), inJson(activities.id, ids)));
  return rows.map(toActivity);
}

const NOT_FOUND = "No activity has this id.";

const unlinked = () => fieldError("contact_id", LINK_MESSAGE);

const SORTABLE = { occurred_at: activities.occurred_at, created_at: activities.created_at, updated_at: activities.updated_at };

export const list: RouteHandler<typeof routes.listActivities, E> = async (c) => {
  const { limit, cursor, contact_id, company_id, deal_id, type, sort } = c.req.valid("query");
  const plan = keyset(sort, SORTABLE, activities.id, cursor);
  const conditions: (SQL | undefined)[] = [eq(activities.organization_id, c.get("identity").organization_id), plan.after];
  if (contact_id) conditions.push(eq(activities.contact_id, contact_id));
  if (company_id) conditions.push(eq(activities.company_id, company_id));
  if (deal_id) conditions.push(eq(activities.deal_id, deal_id));
  if (type) conditions.push(eq(activities.type, type));
  const rows = await db(c.env.DB)
    .select()
    .from(activities)
    .where(and(...conditions))
    .orderBy(...plan.orderBy)
    .limit(limit + 1);
  const page = plan.page(rows, limit);
  return c.json({ data: page.data.map(toActivity), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createActivity, E> = async (c) => {
  const input = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const now = nowIso();
  const row = {
    id: newId(),
    organization_id: org,
    type: input.type,
    contact_id: input.contact_id ?? null,
    company_id: input.company_id ?? null,
    deal_id: input.deal_id ?? null,
    occurred_at: input.occurred_at ?? now,
    body: input.body,
    created_at: now,
    updated_at: now,
  };
  const refs: References = { contact_id: row.contact_id, company_id: row.company_id, deal_id: row.deal_id };
  let inserted: boolean;
  try {
    inserted = await insertWhere(database, activities, row, referencesExist(org, refs));
  } catch (err) {
    if (isForeignKeyViolation(err)) return throwReferenceError(database, org, refs);
    throw err;
  }
  if (!inserted) return throwReferenceError(database, org, refs);
  const { organization_id: _org, ...shown } = row;
  c.header("location", `/activities/${row.id}`);
  return c.json(shown, 201);
};

export const get: RouteHandler<typeof routes.getActivity, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await getOwnedOr404(db(c.env.DB), activities, id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toActivity(row), 200);
};

export const update: RouteHandler<typeof routes.updateActivity, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const refs: References = { contact_id: changes.contact_id, company_id: changes.company_id, deal_id: changes.deal_id };
  let row: ActivityRow | undefined;
  try {
    row = await database
      .update(activities)
      .set({ ...changes, updated_at: nowIso() })
      .where(and(eq(activities.id, id), eq(activities.organization_id, org), referencesExist(org, refs)))
      .returning()
      .get();
  } catch (err) {
    // The table's CHECK keeps at least one link, whatever the stored row had.
    if (isCheckViolation(err, "activities_linked")) throw unlinked();
    if (!isForeignKeyViolation(err)) throw err;
  }
  if (row) return c.json(toActivity(row), 200);
  await requireOwned(database, activities, id, org, NOT_FOUND);
  return throwReferenceError(database, org, refs);
};

export const remove: RouteHandler<typeof routes.deleteActivity, E> = async (c) => {
  const { id } = c.req.valid("param");
  const deleted = await db(c.env.DB)
    .delete(activities)
    .where(ownedBy(activities, id, c.get("identity").organization_id))
    .returning({ id: activities.id })
    .get();
  if (!deleted) throw notFound(NOT_FOUND);
  return c.body(null, 204);
};
