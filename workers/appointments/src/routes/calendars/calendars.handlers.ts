import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { decodeCursor, newId, nowIso, paginate, type ServiceEnv, notFound, ownedBy, afterCursor } from "@buildly/shared";
import { db } from "../../db/client";
import { calendars, type CalendarRow } from "../../db/schema";
import { DEFAULT_WORKING_HOURS } from "./calendars.schemas";
import { unwrap, writeContext, writerFor } from "../../scheduling/calendar-writer";
import type * as routes from "./calendars.routes";

type E = ServiceEnv<Env>;

function toCalendar(row: CalendarRow) {
  const { organization_id: _org, ...rest } = row;
  return rest;
}

const NOT_FOUND = "No calendar has this id.";

function scoped(c: { get(key: "identity"): { organization_id: string } }, id: string) {
  return ownedBy(calendars, id, c.get("identity").organization_id);
}

export const list: RouteHandler<typeof routes.listCalendars, E> = async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const rows = await db(c.env.DB)
    .select()
    .from(calendars)
    .where(and(eq(calendars.organization_id, c.get("identity").organization_id), afterCursor(calendars.created_at, calendars.id, after)))
    .orderBy(asc(calendars.created_at), asc(calendars.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toCalendar), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createCalendar, E> = async (c) => {
  const input = c.req.valid("json");
  const now = nowIso();
  const row: CalendarRow = {
    id: newId(),
    organization_id: c.get("identity").organization_id,
    name: input.name,
    time_zone: input.time_zone,
    working_hours: input.working_hours ?? DEFAULT_WORKING_HOURS,
    created_at: now,
    updated_at: now,
  };
  await db(c.env.DB).insert(calendars).values(row);
  c.header("location", `/calendars/${row.id}`);
  return c.json(toCalendar(row), 201);
};

export const get: RouteHandler<typeof routes.getCalendar, E> = async (c) => {
  const row = await db(c.env.DB)
    .select()
    .from(calendars)
    .where(scoped(c, c.req.valid("param").id))
    .get();
  if (!row) throw notFound(NOT_FOUND);
  return c.json(toCalendar(row), 200);
};

export const update: RouteHandler<typeof routes.updateCalendar, E> = async (c) => {
  // Through the calendar's writer: a new time zone moves recurring occurrences, which must not
  // interleave with an appointment write's overlap check.
  const { id } = c.req.valid("param");
  const row = unwrap(await writerFor(c.env, id).updateCalendar(writeContext(c.get("identity")), id, c.req.valid("json")));
  return c.json(toCalendar(row), 200);
};

export const remove: RouteHandler<typeof routes.deleteCalendar, E> = async (c) => {
  // Deletes its appointments too; through the writer so no appointment lands on a deleted calendar.
  const { id } = c.req.valid("param");
  unwrap(await writerFor(c.env, id).deleteCalendar(writeContext(c.get("identity")), id));
  return c.body(null, 204);
};
