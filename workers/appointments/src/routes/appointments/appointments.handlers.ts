import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, gt, lt } from "drizzle-orm";
import { ApiError, decodeCursor, encodeCursor, paginate, type ServiceEnv, notFound, ownedBy, afterCursor } from "@buildly/shared";
import { db } from "../../db/client";
import { appointments, calendars, type AppointmentRow, type AppointmentStatus } from "../../db/schema";
import { mergeSorted } from "../../lib/merge";
import { occurrencesOf } from "../../lib/rrule";
import { unwrap, writeContext, writerFor } from "../../scheduling/calendar-writer";
import { seriesOf, toAppointment } from "../../scheduling/series";
import { MAX_WINDOW_APPOINTMENTS } from "./appointments.schemas";
import type * as routes from "./appointments.routes";

type E = ServiceEnv<Env>;

const NOT_FOUND = "No appointment has this id.";

export const list: RouteHandler<typeof routes.listAppointments, E> = async (c) => {
  const query = c.req.valid("query");
  const org = c.get("identity").organization_id;
  if (query.from !== undefined && query.to !== undefined) {
    return c.json(await occurrences(c.env.DB, org, { ...query, from: query.from, to: query.to }), 200);
  }
  const after = decodeCursor(query.cursor);
  const rows = await db(c.env.DB)
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.organization_id, org),
        query.calendar_id ? eq(appointments.calendar_id, query.calendar_id) : undefined,
        query.status ? eq(appointments.status, query.status) : undefined,
        afterCursor(appointments.created_at, appointments.id, after),
      ),
    )
    .orderBy(asc(appointments.created_at), asc(appointments.id))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toAppointment), next_cursor: page.next_cursor }, 200);
};

interface WindowQuery {
  from: string;
  to: string;
  calendar_id?: string;
  status?: AppointmentStatus;
  limit: number;
  cursor?: string;
}

/**
 * Occurrences overlapping [from, to), ordered by (start, appointment id); the cursor is the
 * last one returned. The window is at most 366 days and holds at most MAX_WINDOW_APPOINTMENTS
 * appointments; a page merges the appointments' occurrences lazily, so it expands little more
 * than one page's worth however long the window.
 */
async function occurrences(d1: D1Database, organizationId: string, q: WindowQuery) {
  const after = decodeCursor(q.cursor);
  const from = new Date(q.from).toISOString();
  const to = new Date(q.to).toISOString();
  // What comes after the cursor starts at or after it, so nothing that ended before it matters.
  const lower = after && after.k > from ? after.k : from;
  const rows = await db(d1)
    .select({ appointment: appointments, time_zone: calendars.time_zone })
    .from(appointments)
    .innerJoin(calendars, eq(calendars.id, appointments.calendar_id))
    .where(
      and(
        eq(appointments.organization_id, organizationId),
        q.calendar_id ? eq(appointments.calendar_id, q.calendar_id) : undefined,
        q.status ? eq(appointments.status, q.status) : undefined,
        gt(appointments.range_end, lower),
        lt(appointments.start_at, to),
      ),
    )
    .limit(MAX_WINDOW_APPOINTMENTS + 1)
    .all();
  if (rows.length > MAX_WINDOW_APPOINTMENTS) {
    throw new ApiError(422, "The request does not match the schema.", {
      errors: [
        { path: "to", message: `The window holds more than ${MAX_WINDOW_APPOINTMENTS} appointments; narrow from and to, or filter by calendar_id or status.` },
      ],
    });
  }
  const window = { from: Date.parse(lower), to: Date.parse(to) };
  function* listed(row: AppointmentRow, timeZone: string) {
    for (const o of occurrencesOf(seriesOf(row), timeZone, window)) {
      const start = new Date(o.start).toISOString();
      if (!after || start > after.k || (start === after.k && row.id > after.id)) yield { row, start, end: o.end };
    }
  }
  const page = mergeSorted(
    rows.map(({ appointment, time_zone }) => listed(appointment, time_zone)),
    (x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : x.row.id < y.row.id ? -1 : x.row.id > y.row.id ? 1 : 0),
    q.limit + 1,
  );
  const more = page.length > q.limit;
  if (more) page.pop();
  const last = page[page.length - 1];
  return {
    data: page.map((o) => occurrenceOf(o.row, o.start, new Date(o.end).toISOString())),
    next_cursor: more && last ? encodeCursor({ k: last.start, id: last.row.id }) : null,
  };
}

function occurrenceOf(row: AppointmentRow, start: string, end: string) {
  return {
    appointment_id: row.id,
    calendar_id: row.calendar_id,
    title: row.title,
    start,
    end,
    attendees: row.attendees,
    location: row.location,
    status: row.status,
    recurrence: row.recurrence,
  };
}

export const create: RouteHandler<typeof routes.createAppointment, E> = async (c) => {
  const input = c.req.valid("json");
  const result = await writerFor(c.env, input.calendar_id).createAppointment(writeContext(c.get("identity")), input.calendar_id, input);
  const row = unwrap(result);
  c.header("location", `/appointments/${row.id}`);
  return c.json(toAppointment(row), 201);
};

async function load(c: { env: Env; get(key: "identity"): { organization_id: string } }, id: string) {
  return db(c.env.DB)
    .select()
    .from(appointments)
    .where(ownedBy(appointments, id, c.get("identity").organization_id))
    .get();
}

export const get: RouteHandler<typeof routes.getAppointment, E> = async (c) => {
  const row = await load(c, c.req.valid("param").id);
  if (!row) throw notFound(NOT_FOUND);
  return c.json(toAppointment(row), 200);
};

export const update: RouteHandler<typeof routes.updateAppointment, E> = async (c) => {
  const { id } = c.req.valid("param");
  const input = c.req.valid("json");
  // The write runs under the lock of the calendar the appointment ends up in. If it moved to
  // another calendar between this read and the write, the writer says so and we go round again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await load(c, id);
    if (!current) throw notFound(NOT_FOUND);
    const target = input.calendar_id ?? current.calendar_id;
    const outcome = unwrap(await writerFor(c.env, target).updateAppointment(writeContext(c.get("identity")), target, id, input));
    if ("row" in outcome) return c.json(toAppointment(outcome.row), 200);
  }
  throw new ApiError(409, "The appointment kept changing while this update ran; try again.");
};

export const remove: RouteHandler<typeof routes.deleteAppointment, E> = async (c) => {
  // No overlap can appear by removing one, so no lock is needed.
  const deleted = await db(c.env.DB)
    .delete(appointments)
    .where(ownedBy(appointments, c.req.valid("param").id, c.get("identity").organization_id))
    .returning({ id: appointments.id })
    .get();
  if (!deleted) throw notFound(NOT_FOUND);
  return c.body(null, 204);
};
