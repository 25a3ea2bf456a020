import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { RpcResult, ServiceCatalog, ServiceHealth } from "@buildly/shared";
import { serviceClient, type RpcService } from "@buildly/shared/test";
import { rangeEndOf, seriesOf } from "../src/scheduling/series";

export type Rpc = RpcService & {
  health(): Promise<ServiceHealth>;
  getMany(model: string, ids: string[], context: unknown): Promise<RpcResult<Record<string, unknown>[]>>;
  findBy(model: string, field: string, values: unknown, perValue: unknown, context: unknown): Promise<RpcResult<any[]>>;
  search(query: unknown, models: unknown, limit: unknown, context: unknown): Promise<RpcResult<any[]>>;
  describe(): Promise<ServiceCatalog>;
};

export const rpc = (exports as unknown as { AppointmentsService: Rpc }).AppointmentsService;

export type Client = ReturnType<typeof serviceClient>;

/** A client for a fresh organization, so lists and windows see only what the test made. */
export function freshOrg(): { org: string; client: Client } {
  const org = crypto.randomUUID();
  return { org, client: serviceClient(rpc, org) };
}

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

/** The field paths of a 422 problem. */
export async function problemPaths(res: Response): Promise<string[]> {
  expect(res.status).toBe(422);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const problem = await res.json<any>();
  expect(problem).toMatchObject({ status: 422, title: "Unprocessable Content" });
  return problem.errors.map((e: any) => e.path);
}

/** Every page of a list, following next_cursor. */
export async function allPages(client: Client, path: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const res = await client.get(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    const page: any = await res.json();
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
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
