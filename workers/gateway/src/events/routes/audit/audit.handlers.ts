import type { RouteHandler } from "@hono/zod-openapi";
import { decodeCursor, encodeCursor } from "@buildly/shared";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import { type AuditEntry, verifyChain } from "../../audit";
import { Where } from "../../where";
import type * as routes from "./audit.routes";

function toEntry(r: AuditEntry) {
  return {
    seq: r.seq,
    event_id: r.event_id,
    time: r.time,
    service: r.service,
    type: r.type,
    subject: r.subject,
    actor: { type: r.actor_type as "user" | "client" | "system", id: r.actor_id },
    request_id: r.request_id,
    data: JSON.parse(r.data) as Record<string, unknown>,
    prev_hash: r.prev_hash,
    hash: r.hash,
    recorded_at: r.recorded_at,
  };
}

export const list: RouteHandler<typeof routes.listAudit, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor, actor, service, type, from, to } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const where = new Where().add("organization_id = ?", organization_id);
  if (actor) where.add("actor_id = ?", actor);
  if (service) where.add("service = ?", service);
  if (type) where.add("type = ?", type);
  if (from) where.add("time >= ?", new Date(from).toISOString());
  if (to) where.add("time < ?", new Date(to).toISOString());
  if (after) where.add("seq < ?", Number(after.k));
  const rows = await c.env.DB.prepare(`SELECT * FROM audit_entries WHERE ${where} ORDER BY seq DESC LIMIT ?${where.params.length + 1}`)
    .bind(...where.params, limit + 1)
    .all<AuditEntry>();
  const page = rows.results.slice(0, limit);
  const last = page[page.length - 1];
  const next_cursor = rows.results.length > limit && last ? encodeCursor({ k: String(last.seq), id: last.event_id }) : null;
  return c.json({ data: page.map(toEntry), next_cursor }, 200);
};

export const verify: RouteHandler<typeof routes.verifyAudit, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { from_seq, limit } = c.req.valid("query");
  const report = await verifyChain(c.env.DB, organization_id, from_seq, limit);
  return c.json({ ...report, complete: report.broken === null && report.next_from_seq === null }, 200);
};
