import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ApiError, decodeCursor, isUniqueViolation, newId, nowIso, logError, paginate, afterCursor, inJson } from "@buildly/shared";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import { actorOf, gatewayEvent, outboxInsert, outboxStatement, relaySoon } from "../../../events";
import { meshJoins, type JoinRow } from "../../db/schema";
import { dropVanishedLinks } from "../../joins/store";
import { MESH_QUOTAS, quotaExceeded } from "../../quotas";
import type { Relationship } from "../../relationships/relationship";
import { relationshipsOf } from "../../relationships/store";
import { canRead, getMany } from "../../rpc";
import type * as routes from "./joins.routes";

const notFound = () => new ApiError(404, "No join record of this organization has this id.");

function toJoin(row: JoinRow, relationship: Relationship | undefined) {
  return {
    id: row.id,
    relationship_id: row.relationship_id,
    relationship_key: relationship?.key ?? "",
    origin: { service: row.origin_service, model: row.origin_model, id: row.origin_id },
    related: { service: row.related_service, model: row.related_model, id: row.related_id },
    created_at: row.created_at,
  };
}

/** The join_records relationships `ref` (an id or a key) names; 422 when none does. */
function relationshipsNamed(all: Relationship[], ref: string): Relationship[] {
  const named = all.filter((r) => r.id === ref || r.key === ref);
  if (!named.length)
    throw new ApiError(422, `No relationship has the id or key ${ref}.`, { errors: [{ path: "relationship", message: "Unknown relationship" }] });
  const joinable = named.filter((r) => r.kind === "join_records");
  if (!joinable.length) {
    throw new ApiError(422, `${ref} is a field relationship: its records are linked by ${named[0]!.field}; set that field on the record instead.`, {
      errors: [{ path: "relationship", message: "Not a join_records relationship" }],
    });
  }
  return joinable;
}

function readableBoth(c: Context<GatewayEnv>, r: Relationship): boolean {
  return canRead(c, r.origin.service) && canRead(c, r.related.service);
}

function requireUpdateOnOrigin(c: Context<GatewayEnv>, r: Relationship): void {
  if (!c.get("permissions")?.[r.origin.service]?.includes("update")) {
    throw new ApiError(403, `Linking or unlinking ${r.origin.model} records needs update on the ${r.origin.service} service.`);
  }
}

/**
 * Which of `rows` point at a record that no longer exists: one getMany per model (and per 100
 * ids) for the whole page. `unverified` when a service could not answer: its rows are kept.
 */
async function vanishedAmong(c: Context<GatewayEnv>, rows: JoinRow[]): Promise<{ vanished: Set<string>; unverified: boolean }> {
  const groups = new Map<string, { service: string; model: string; ids: Set<string> }>();
  const add = (service: string, model: string, id: string) => {
    const k = `${service}\u0000${model}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { service, model, ids: new Set() }));
    g.ids.add(id);
  };
  for (const r of rows) {
    add(r.origin_service, r.origin_model, r.origin_id);
    add(r.related_service, r.related_model, r.related_id);
  }
  let unverified = false;
  const existing = new Set<string>();
  const checked = new Set<string>();
  await Promise.all(
    [...groups.values()].map(async (g) => {
      try {
        for (const row of await getMany(c, g, g.ids)) existing.add(`${g.service}\u0000${g.model}\u0000${row.id}`);
        for (const id of g.ids) checked.add(`${g.service}\u0000${g.model}\u0000${id}`);
      } catch (err) {
        unverified = true;
        logError(c.get("requestId"), "gateway", (err as { cause?: unknown }).cause ?? err, { during: "mesh join check", target: g.service });
      }
    }),
  );
  const gone = (service: string, model: string, id: string) => {
    const k = `${service}\u0000${model}\u0000${id}`;
    return checked.has(k) && !existing.has(k);
  };
  const vanished = new Set(
    rows.filter((r) => gone(r.origin_service, r.origin_model, r.origin_id) || gone(r.related_service, r.related_model, r.related_id)).map((r) => r.id),
  );
  return { vanished, unverified };
}

export const list: RouteHandler<typeof routes.listJoins, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor, relationship, origin_id, related_id } = c.req.valid("query");
  const all = await relationshipsOf(c.env.DB, organization_id);
  const named = relationship ? relationshipsNamed(all, relationship) : all.filter((r) => r.kind === "join_records");
  const readable = named.filter((r) => readableBoth(c, r));
  if (relationship && !readable.length) throw new ApiError(403, `Reading ${relationship} needs read on both of its services.`);
  const after = decodeCursor(cursor);
  const rows = readable.length
    ? await drizzle(c.env.DB)
        .select()
        .from(meshJoins)
        .where(
          and(
            eq(meshJoins.organization_id, organization_id),
            inJson(
              meshJoins.relationship_id,
              readable.map((r) => r.id),
            ),
            origin_id ? eq(meshJoins.origin_id, origin_id) : undefined,
            related_id ? eq(meshJoins.related_id, related_id) : undefined,
            afterCursor(meshJoins.created_at, meshJoins.id, after, true),
          ),
        )
        .orderBy(desc(meshJoins.created_at), desc(meshJoins.id))
        .limit(limit + 1)
    : [];
  const page = paginate(rows, limit, (r) => r.created_at);
  const { vanished, unverified } = await vanishedAmong(c, page.data);
  dropVanishedLinks(c, organization_id, [...vanished]);
  const byId = new Map(all.map((r) => [r.id, r]));
  if (unverified) c.header("mesh-complete", "false");
  return c.json({ data: page.data.filter((r) => !vanished.has(r.id)).map((r) => toJoin(r, byId.get(r.relationship_id))), next_cursor: page.next_cursor }, 200);
};

async function existingJoin(c: Context<GatewayEnv>, organizationId: string, id: string): Promise<{ row: JoinRow; relationship: Relationship }> {
  const row = await drizzle(c.env.DB)
    .select()
    .from(meshJoins)
    .where(and(eq(meshJoins.id, id), eq(meshJoins.organization_id, organizationId)))
    .get();
  const relationship = row && (await relationshipsOf(c.env.DB, organizationId)).find((r) => r.id === row.relationship_id);
  if (!row || !relationship) throw notFound();
  return { row, relationship };
}

export const get: RouteHandler<typeof routes.getJoin, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { row, relationship } = await existingJoin(c, organization_id, c.req.valid("param").id);
  if (!readableBoth(c, relationship))
    throw new ApiError(403, `Reading this join record needs read on ${relationship.origin.service} and ${relationship.related.service}.`);
  const { vanished, unverified } = await vanishedAmong(c, [row]);
  if (vanished.size) {
    dropVanishedLinks(c, organization_id, [row.id]);
    throw notFound();
  }
  if (unverified) c.header("mesh-complete", "false");
  return c.json(toJoin(row, relationship), 200);
};

export const create: RouteHandler<typeof routes.createJoin, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  const named = relationshipsNamed(await relationshipsOf(c.env.DB, organization_id), input.relationship);
  if (named.length > 1) {
    throw new ApiError(
      422,
      `Several relationships have the key ${input.relationship} (${named.map((r) => `${r.origin.service} ${r.origin.model}`).join(", ")}): give its id.`,
      {
        errors: [{ path: "relationship", message: "Ambiguous key" }],
      },
    );
  }
  const relationship = named[0]!;
  requireUpdateOnOrigin(c, relationship);
  if (!canRead(c, relationship.related.service))
    throw new ApiError(403, `Linking to ${relationship.related.model} records needs read on the ${relationship.related.service} service.`);
  const [origin, related] = await Promise.all([getMany(c, relationship.origin, [input.origin_id]), getMany(c, relationship.related, [input.related_id])]);
  if (!origin.length || !related.length) {
    const missing = [
      !origin.length && `origin_id: no ${relationship.origin.model} record`,
      !related.length && `related_id: no ${relationship.related.model} record`,
    ].filter(Boolean);
    throw new ApiError(404, `Not found in this organization: ${missing.join("; ")}.`);
  }
  const row: JoinRow = {
    id: newId(),
    organization_id,
    relationship_id: relationship.id,
    origin_service: relationship.origin.service,
    origin_model: relationship.origin.model,
    origin_id: input.origin_id,
    related_service: relationship.related.service,
    related_model: relationship.related.model,
    related_id: input.related_id,
    created_at: nowIso(),
  };
  let inserted: D1Result | undefined;
  try {
    // Only while the organization is under its quota, counted in the same statement.
    const event = gatewayEvent(actorOf(c), "mesh.join.created", { subject: row.id, organizationid: organization_id, data: toJoin(row, relationship) });
    [inserted] = await c.env.DB.batch([
      c.env.DB.prepare(
        `INSERT INTO mesh_joins (id, organization_id, relationship_id, origin_service, origin_model, origin_id, related_service, related_model, related_id, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE (SELECT count(*) FROM mesh_joins WHERE organization_id = ?2) < ?11`,
      ).bind(
        row.id,
        organization_id,
        row.relationship_id,
        row.origin_service,
        row.origin_model,
        row.origin_id,
        row.related_service,
        row.related_model,
        row.related_id,
        row.created_at,
        MESH_QUOTAS.join_records,
      ),
      outboxStatement(c.env.DB, event, { onlyIfChanged: true }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError(409, "These two records are already linked by this relationship.");
    throw err;
  }
  if (!inserted?.meta.changes) throw quotaExceeded("join_records", "join records");
  relaySoon(c);
  c.header("location", `/v1/mesh/joins/${row.id}`);
  return c.json(toJoin(row, relationship), 201);
};

export const remove: RouteHandler<typeof routes.deleteJoin, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { row, relationship } = await existingJoin(c, organization_id, c.req.valid("param").id);
  requireUpdateOnOrigin(c, relationship);
  const d = drizzle(c.env.DB);
  const event = gatewayEvent(actorOf(c), "mesh.join.deleted", { subject: row.id, organizationid: organization_id, data: toJoin(row, relationship) });
  await d.batch([
    d.delete(meshJoins).where(and(eq(meshJoins.id, row.id), eq(meshJoins.organization_id, organization_id))),
    outboxInsert(d, event, { onlyIfChanged: true }),
  ]);
  relaySoon(c);
  return c.body(null, 204);
};
