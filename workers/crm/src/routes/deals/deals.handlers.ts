import type { RouteHandler } from "@hono/zod-openapi";
import { and, eq, sql, type SQL } from "drizzle-orm";
import { ApiError, newId, nowIso, type ServiceEnv, getOwnedOr404, inJson, keyset, notFound, ownedBy } from "@buildly/shared";
import { db, insertWhere, isForeignKeyViolation, type Db } from "../../db/client";
import { deals, pipelines, type DealRow } from "../../db/schema";
import { defaultPipelineId } from "../../lib/default-pipeline";
import { activityCleanup } from "../../lib/deletion";
import { referenceErrors, referenceError, referencesExist, stageExists, throwReferenceError, type References } from "../../lib/references";
import { searchCondition } from "../../lib/search";
import type * as routes from "./deals.routes";

type E = ServiceEnv<Env>;

export function toDeal(row: DealRow) {
  const { rid: _rid, organization_id: _org, ...rest } = row;
  return rest;
}

/** getMany("deals"): the organization's deals among `ids`, in one query. */
export async function loadDeals(database: Db, organizationId: string, ids: string[]) {
  const rows = await database
    .select()
    .from(deals)
    .where(and(eq(deals.organization_id, organizationId), inJson(deals.id, ids)));
  return rows.map(toDeal);
}

const NOT_FOUND = "No deal has this id.";

const SORTABLE = {
  created_at: deals.created_at,
  updated_at: deals.updated_at,
  title: deals.title,
  amount: deals.amount,
  expected_close_date: deals.expected_close_date,
};

export const list: RouteHandler<typeof routes.listDeals, E> = async (c) => {
  const { limit, cursor, q, pipeline_id, stage, contact_id, company_id, sort } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const plan = keyset(sort, SORTABLE, deals.id, cursor);
  const conditions: (SQL | undefined)[] = [eq(deals.organization_id, org), plan.after];
  if (pipeline_id) conditions.push(eq(deals.pipeline_id, pipeline_id));
  if (stage) conditions.push(eq(deals.stage, stage));
  if (contact_id) conditions.push(eq(deals.contact_id, contact_id));
  if (company_id) conditions.push(eq(deals.company_id, company_id));
  if (q) conditions.push(searchCondition("deals_fts", deals.rid, ["title"], org, q));
  const rows = await db(c.env.DB)
    .select()
    .from(deals)
    .where(and(...conditions))
    .orderBy(...plan.orderBy)
    .limit(limit + 1);
  const page = plan.page(rows, limit);
  return c.json({ data: page.data.map(toDeal), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createDeal, E> = async (c) => {
  const input = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const pipelineId = input.pipeline_id ?? (await defaultPipelineId(org));
  let stage = input.stage;
  if (stage === undefined || input.pipeline_id === undefined) {
    const pipeline = await database
      .select({ stages: pipelines.stages })
      .from(pipelines)
      .where(and(eq(pipelines.organization_id, org), eq(pipelines.id, pipelineId)))
      .get();
    if (!pipeline) {
      throw referenceError([
        input.pipeline_id === undefined
          ? { path: "pipeline_id", message: "This organization's default pipeline was deleted; give a pipeline_id" }
          : { path: "pipeline_id", message: "No pipeline with this id exists in this organization" },
      ]);
    }
    stage ??= pipeline.stages[0]!.id;
  }
  const now = nowIso();
  const row = {
    id: newId(),
    organization_id: org,
    title: input.title,
    amount: input.amount,
    currency: input.currency,
    pipeline_id: pipelineId,
    stage,
    contact_id: input.contact_id ?? null,
    company_id: input.company_id ?? null,
    expected_close_date: input.expected_close_date ?? null,
    created_at: now,
    updated_at: now,
  };
  const refs: References = {
    pipeline_id: pipelineId,
    contact_id: row.contact_id,
    company_id: row.company_id,
    stage: { pipeline_id: pipelineId, stage },
  };
  let inserted: boolean;
  try {
    inserted = await insertWhere(database, deals, row, referencesExist(org, refs));
  } catch (err) {
    if (isForeignKeyViolation(err)) return throwReferenceError(database, org, refs);
    throw err;
  }
  if (!inserted) return throwReferenceError(database, org, refs);
  const { organization_id: _org, ...shown } = row;
  c.header("location", `/deals/${row.id}`);
  return c.json(shown, 201);
};

export const get: RouteHandler<typeof routes.getDeal, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await getOwnedOr404(db(c.env.DB), deals, id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toDeal(row), 200);
};

export const update: RouteHandler<typeof routes.updateDeal, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const refs: References = { pipeline_id: changes.pipeline_id, contact_id: changes.contact_id, company_id: changes.company_id };
  // Moving stage or pipeline: the resulting (pipeline, stage) pair must exist, checked in the UPDATE itself.
  const stageCheck =
    changes.pipeline_id !== undefined || changes.stage !== undefined
      ? stageExists(org, changes.pipeline_id ?? sql`${deals.pipeline_id}`, changes.stage ?? sql`${deals.stage}`)
      : undefined;
  let row: DealRow | undefined;
  try {
    row = await database
      .update(deals)
      .set({ ...changes, updated_at: nowIso() })
      .where(and(eq(deals.id, id), eq(deals.organization_id, org), referencesExist(org, refs), stageCheck))
      .returning()
      .get();
  } catch (err) {
    if (!isForeignKeyViolation(err)) throw err;
  }
  if (row) return c.json(toDeal(row), 200);

  const current = await getOwnedOr404(database, deals, id, org, NOT_FOUND);
  const pipelineId = changes.pipeline_id ?? current.pipeline_id;
  const errors = await referenceErrors(database, org, { ...refs, stage: { pipeline_id: pipelineId, stage: changes.stage ?? current.stage } });
  if (errors.length) throw referenceError(errors);
  throw new ApiError(409, "A referenced record changed while this request was written; try again.");
};

export const remove: RouteHandler<typeof routes.deleteDeal, E> = async (c) => {
  const { id } = c.req.valid("param");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const results = await database.batch([
    ...activityCleanup(database, org, "deal_id", id, sql`1`),
    database
      .delete(deals)
      .where(ownedBy(deals, id, org))
      .returning({ id: deals.id }),
  ]);
  if (results[2].length === 0) throw notFound(NOT_FOUND);
  return c.body(null, 204);
};
