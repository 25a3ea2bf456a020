import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { freshOrg as freshOrgOf, serviceRpc, type LogicServiceRpc, type ServiceClient } from "@buildly/shared/test";
import { rangeEndOf, seriesOf } from "../src/scheduling/series";

export type Rpc = LogicServiceRpc;

export const rpc = serviceRpc("AppointmentsService");

export type Client = ServiceClient;

/** A fresh organization of the appointments service and a client for it, so lists and windows see only what the test made. */
export const freshOrg = () => freshOrgOf(rpc);
export { expectProblem, listAll, problemPaths } from "@buildly/shared/test";

export async function makeCalendar(client: Client, body: Record<string, unknown> = {}) {
  const res = await client.post("/calendars", { name: "Sales team", time_zone: "Europe/London", ...body });
  expect(res.status).toBe(201);
  return res.json<any>();
}

export async function makeAppointment(client: Client, body: Record<string, unknown>) {
  const res = await client.post("/appointments", { title: "Meeting", ...body });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${await res.text()}`);
  return res.json<any>();
}

const DB = (env as unknown as { DB: D1Database }).DB;

/**
 * Writes appointments straight into D1 (the service's own columns and bounds), for tests that
 * need thousands of them or rows the API would no longer accept.
 */
export async function insertAppointments(
  org: string,
  calendar: { id: string; time_zone: string },
  items: { title?: string; start: string; end: string; recurrence?: string | null; status?: string; attendees?: unknown[] }[],
): Promise<string[]> {
  const ids: string[] = [];
  const statements = items.map((item) => {
    const id = crypto.randomUUID();
    ids.push(id);
    const row = { start_at: new Date(item.start).toISOString(), end_at: new Date(item.end).toISOString(), recurrence: item.recurrence ?? null };
    const now = new Date().toISOString();
    return DB.prepare(
      "INSERT INTO appointments (id, organization_id, calendar_id, title, start_at, end_at, range_end, attendees, location, status, recurrence, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, 1, ?, ?)",
    ).bind(
      id,
      org,
      calendar.id,
      item.title ?? "Inserted",
      row.start_at,
      row.end_at,
      rangeEndOf(seriesOf(row), calendar.time_zone),
      JSON.stringify(item.attendees ?? []),
      item.status ?? "scheduled",
      row.recurrence,
      now,
      now,
    );
  });
  for (let i = 0; i < statements.length; i += 500) await DB.batch(statements.slice(i, i + 500));
  return ids;
}
