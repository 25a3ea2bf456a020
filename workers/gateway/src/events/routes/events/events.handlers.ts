import type { RouteHandler } from "@hono/zod-openapi";
import { decodeCursor, paginate, type PlatformEvent } from "@buildly/shared";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import { Where } from "../../where";
import type * as routes from "./events.routes";

export const list: RouteHandler<typeof routes.listEvents, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor, type, subject, after } = c.req.valid("query");
  const before = decodeCursor(cursor);
  const where = new Where().add("organization_id = ?", organization_id);
  if (type) where.add("type = ?", type);
  if (subject) where.add("subject = ?", subject);
  if (after) where.add("time > ?", new Date(after).toISOString());
  if (before) where.add("(time < ? OR (time = ? AND id < ?))", before.k, before.k, before.id);
  const rows = await c.env.DB.prepare(`SELECT id, time, event FROM events WHERE ${where} ORDER BY time DESC, id DESC LIMIT ?${where.params.length + 1}`)
    .bind(...where.params, limit + 1)
    .all<{ id: string; time: string; event: string }>();
  const page = paginate(rows.results, limit, (r) => r.time);
  return c.json({ data: page.data.map((r) => JSON.parse(r.event) as PlatformEvent), next_cursor: page.next_cursor }, 200);
};
