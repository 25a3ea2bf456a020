import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ApiError, decodeCursor, isUniqueViolation, newId, nowIso, paginate, afterCursor } from "@buildly/shared";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import { actorOf, gatewayEvent, outboxInsert, outboxStatement, relaySoon } from "../../../events";
import { meshJoins, meshRelationships, type RelationshipRow } from "../../db/schema";
import { catalogView } from "../../models";
import { MESH_QUOTAS, quotaExceeded } from "../../quotas";
import { DEFAULT_RELATIONSHIPS } from "../../relationships/defaults";
import { fromRow, type Relationship } from "../../relationships/relationship";
import { forgetRelationships, relationshipsOf } from "../../relationships/store";
import { validateRelationship } from "../../relationships/validate";
import type * as routes from "./relationships.routes";

/** An organization's own relationships: each is loaded on every joined read (cached), so their number is bounded. */
export const MAX_RELATIONSHIPS = MESH_QUOTAS.relationships;

const notFound = () => new ApiError(404, "No relationship of this organization has this id.");

export const list: RouteHandler<typeof routes.listRelationships, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const isAfter = (r: { created_at: string; id: string }) => !after || r.created_at > after.k || (r.created_at === after.k && r.id > after.id);
  const rows = await drizzle(c.env.DB)
    .select()
    .from(meshRelationships)
    .where(and(eq(meshRelationships.organization_id, organization_id), afterCursor(meshRelationships.created_at, meshRelationships.id, after)))
    .orderBy(asc(meshRelationships.created_at), asc(meshRelationships.id))
    .limit(limit + 1);
  // The defaults sort first (they were defined before any organization's own).
  const merged = [...DEFAULT_RELATIONSHIPS.filter(isAfter), ...rows.map(fromRow)].slice(0, limit + 1);
  return c.json(
    paginate(merged, limit, (r) => r.created_at),
    200,
  );
};

export const get: RouteHandler<typeof routes.getRelationship, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  const found = (await relationshipsOf(c.env.DB, organization_id)).find((r) => r.id === id);
  if (found) return c.json(found, 200);
  // Not in the (possibly cached) list: it may have been created moments ago on another isolate.
  const row = await drizzle(c.env.DB)
    .select()
    .from(meshRelationships)
    .where(and(eq(meshRelationships.id, id), eq(meshRelationships.organization_id, organization_id)))
    .get();
  if (!row) throw notFound();
  return c.json(fromRow(row), 200);
};

export const create: RouteHandler<typeof routes.createRelationship, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  // Fresh from D1, not the cache: a key taken moments ago on another isolate must count.
  forgetRelationships(organization_id);
  const existing = await relationshipsOf(c.env.DB, organization_id);
  const fieldOn = validateRelationship(await catalogView(c, [input.origin.service, input.related.service]), input, existing);

  const row: RelationshipRow = {
    id: newId(),
    organization_id,
    key: input.key,
    reverse_key: input.reverse_key,
    origin_service: input.origin.service,
    origin_model: input.origin.model,
    related_service: input.related.service,
    related_model: input.related.model,
    kind: input.kind,
    field: input.kind === "field" ? input.field! : null,
    field_on: fieldOn,
    on_delete: input.on_delete ?? (input.kind === "join_records" ? "unlink" : "set_null"),
    created_at: nowIso(),
  };
  let inserted: D1Result | undefined;
  try {
    // One batch: the row only while the organization is under its quota (counted in the same
    // statement, so concurrent creates cannot overshoot), then its keys only if the row went in;
    // the keys' primary key makes a key taken concurrently fail the whole batch.
    const event = gatewayEvent(actorOf(c), "mesh.relationship.created", { subject: row.id, organizationid: organization_id, data: { ...fromRow(row) } });
    [inserted] = await c.env.DB.batch([
      c.env.DB.prepare(
        `INSERT INTO mesh_relationships (id, organization_id, key, reverse_key, origin_service, origin_model, related_service, related_model, kind, field, field_on, created_at, on_delete)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14
         WHERE (SELECT count(*) FROM mesh_relationships WHERE organization_id = ?2) < ?13`,
      ).bind(
        row.id,
        organization_id,
        row.key,
        row.reverse_key,
        row.origin_service,
        row.origin_model,
        row.related_service,
        row.related_model,
        row.kind,
        row.field,
        row.field_on,
        row.created_at,
        MAX_RELATIONSHIPS,
        row.on_delete,
      ),
      c.env.DB.prepare(
        `INSERT INTO mesh_relationship_keys (organization_id, service, model, key, relationship_id)
         SELECT ?1, ?2, ?3, ?4, ?8 WHERE EXISTS (SELECT 1 FROM mesh_relationships WHERE id = ?8)
         UNION ALL SELECT ?1, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM mesh_relationships WHERE id = ?8)`,
      ).bind(organization_id, input.origin.service, input.origin.model, input.key, input.related.service, input.related.model, input.reverse_key, row.id),
      // The event only if the keys went in (so only if the row did).
      outboxStatement(c.env.DB, event, { onlyIfChanged: true }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new ApiError(409, "A key of this relationship was just taken on its model.", { errors: [{ path: "key", message: "Already taken" }] });
    throw err;
  }
  if (!inserted?.meta.changes) throw quotaExceeded("relationships", "relationships of its own");
  relaySoon(c);
  forgetRelationships(organization_id);
  c.header("location", `/v1/mesh/relationships/${row.id}`);
  return c.json(fromRow(row), 201);
};

export const remove: RouteHandler<typeof routes.deleteRelationship, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  if (DEFAULT_RELATIONSHIPS.some((r: Relationship) => r.id === id)) throw new ApiError(409, "The platform's default relationships cannot be deleted.");
  const d = drizzle(c.env.DB);
  const [, deleted] = await d.batch([
    d.delete(meshJoins).where(and(eq(meshJoins.organization_id, organization_id), eq(meshJoins.relationship_id, id))),
    // Its keys go with it (ON DELETE CASCADE).
    d
      .delete(meshRelationships)
      .where(and(eq(meshRelationships.id, id), eq(meshRelationships.organization_id, organization_id)))
      .returning({ id: meshRelationships.id }),
    outboxInsert(d, gatewayEvent(actorOf(c), "mesh.relationship.deleted", { subject: id, organizationid: organization_id, data: { id } }), {
      onlyIfChanged: true,
    }),
  ]);
  if (!deleted.length) throw notFound();
  relaySoon(c);
  forgetRelationships(organization_id);
  return c.body(null, 204);
};
