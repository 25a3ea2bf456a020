import type { RouteHandler } from "@hono/zod-openapi";
import { and, count, eq, notInArray, sql } from "drizzle-orm";
import { ApiError, newId, nowIso, type ServiceEnv, getOwnedOr404, inJson, keyset, requireOwned } from "@buildly/shared";
import { db, type Db } from "../../db/client";
import { deals, pipelines, type PipelineRow, type Stage } from "../../db/schema";
import { notReferenced } from "../../lib/deletion";
import type * as routes from "./pipelines.routes";

type E = ServiceEnv<Env>;

export function toPipeline(row: PipelineRow) {
  const { rid: _rid, organization_id: _org, ...rest } = row;
  return rest;
}

/** getMany("pipelines"): the organization's pipelines among `ids`, in one query. */
export async function loadPipelines(database: Db, organizationId: string, ids: string[]) {
  const rows = await database
    .select()
    .from(pipelines)
    .where(and(eq(pipelines.organization_id, organizationId), inJson(pipelines.id, ids)));
  return rows.map(toPipeline);
}

const NOT_FOUND = "No pipeline has this id.";

function withIds(stages: { id?: string; name: string }[]): Stage[] {
  return stages.map((s) => ({ id: s.id ?? newId(), name: s.name }));
}

const SORTABLE = { created_at: pipelines.created_at, updated_at: pipelines.updated_at, name: pipelines.name };

export const list: RouteHandler<typeof routes.listPipelines, E> = async (c) => {
  const { limit, cursor, sort } = c.req.valid("query");
  const plan = keyset(sort, SORTABLE, pipelines.id, cursor);
  const rows = await db(c.env.DB)
    .select()
    .from(pipelines)
    .where(and(eq(pipelines.organization_id, c.get("identity").organization_id), plan.after))
    .orderBy(...plan.orderBy)
    .limit(limit + 1);
  const page = plan.page(rows, limit);
  return c.json({ data: page.data.map(toPipeline), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createPipeline, E> = async (c) => {
  const input = c.req.valid("json");
  const now = nowIso();
  const row = await db(c.env.DB)
    .insert(pipelines)
    .values({
      id: newId(),
      organization_id: c.get("identity").organization_id,
      name: input.name,
      stages: withIds(input.stages),
      is_default: false,
      created_at: now,
      updated_at: now,
    })
    .returning()
    .get();
  c.header("location", `/pipelines/${row.id}`);
  return c.json(toPipeline(row), 201);
};

export const get: RouteHandler<typeof routes.getPipeline, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await getOwnedOr404(db(c.env.DB), pipelines, id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toPipeline(row), 200);
};

export const update: RouteHandler<typeof routes.updatePipeline, E> = async (c) => {
  const { id } = c.req.valid("param");
  const input = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const stages = input.stages ? withIds(input.stages) : undefined;
  const kept = stages?.map((s) => s.id) ?? [];
  // Removing a stage is allowed only while no deal is in it; checked in the UPDATE itself.
  const noDealLosesItsStage = stages
    ? sql`NOT EXISTS (SELECT 1 FROM ${deals} WHERE ${deals.organization_id} = ${org} AND ${deals.pipeline_id} = ${id}
        AND ${deals.stage} NOT IN (SELECT value FROM json_each(${JSON.stringify(kept)})))`
    : undefined;
  const row = await database
    .update(pipelines)
    .set({ ...(input.name !== undefined && { name: input.name }), ...(stages && { stages }), updated_at: nowIso() })
    .where(and(eq(pipelines.id, id), eq(pipelines.organization_id, org), noDealLosesItsStage))
    .returning()
    .get();
  if (row) return c.json(toPipeline(row), 200);

  await requireOwned(database, pipelines, id, org, NOT_FOUND);
  const used = await database
    .selectDistinct({ stage: deals.stage })
    .from(deals)
    .where(and(eq(deals.organization_id, org), eq(deals.pipeline_id, id), notInArray(deals.stage, kept)));
  throw new ApiError(409, "Deals are still in stages this change would remove; move them to another stage first.", {
    errors: used.map((u) => ({ path: "stages", message: `Stage ${u.stage} still has deals` })),
  });
};

export const remove: RouteHandler<typeof routes.deletePipeline, E> = async (c) => {
  const { id } = c.req.valid("param");
  const org = c.get("identity").organization_id;
  const database = db(c.env.DB);
  const deleted = await database
    .delete(pipelines)
    .where(and(eq(pipelines.organization_id, org), eq(pipelines.id, id), notReferenced(deals, deals.pipeline_id, org, id)))
    .returning({ id: pipelines.id })
    .get();
  if (deleted) return c.body(null, 204);
  await requireOwned(database, pipelines, id, org, NOT_FOUND);
  const used = await database
    .select({ n: count() })
    .from(deals)
    .where(and(eq(deals.organization_id, org), eq(deals.pipeline_id, id)))
    .get();
  throw new ApiError(409, `${used?.n ?? 0} deal(s) use this pipeline; move or delete them first.`, { extensions: { deals: used?.n ?? 0 } });
};
