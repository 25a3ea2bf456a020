// Helpers shared by the data mesh tests: records created through the gateway as a client would.
import { expect } from "vitest";
import { bearer, call, form, json } from "./helpers";

export type Row = Record<string, any>;

export function as(token: string) {
  const send = (path: string, init: RequestInit = {}) => call(path, bearer(token, init));
  const created = async (path: string, body: unknown) => {
    const res = await send(path, json("POST", body));
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
    return res.json<Row>();
  };
  return {
    get: (path: string) => send(path),
    send,
    post: (path: string, body: unknown) => send(path, json("POST", body)),
    patch: (path: string, body: unknown) => send(path, json("PATCH", body)),
    del: (path: string) => send(path, { method: "DELETE" }),
    created,
    contact: (extra: Row = {}) => {
      const n = crypto.randomUUID().slice(0, 8);
      return created("/v1/crm/contacts", { first_name: "Mesh", last_name: `Contact ${n}`, email: `mesh-${n}@example.com`, ...extra });
    },
    company: (name = `Company ${crypto.randomUUID().slice(0, 8)}`) => created("/v1/crm/companies", { name }),
    calendar: () => created("/v1/appointments/calendars", { name: "Mesh calendar", time_zone: "UTC" }),
    appointment: (calendarId: string, contacts: Row[], day = 1) =>
      created("/v1/appointments/appointments", {
        calendar_id: calendarId,
        title: `Meeting ${crypto.randomUUID().slice(0, 8)}`,
        start: `2027-03-${String(day).padStart(2, "0")}T10:00:00Z`,
        end: `2027-03-${String(day).padStart(2, "0")}T11:00:00Z`,
        attendees: contacts.map((c) => ({ contact_id: c.id, email: c.email, name: `${c.first_name} ${c.last_name}` })),
        allow_overlap: true,
      }),
    file: async (name = `notes-${crypto.randomUUID().slice(0, 8)}.txt`) => {
      const res = await send(`/v1/documents/files?name=${encodeURIComponent(name)}`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "hello",
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return res.json<Row>();
    },
    link: (relationship: string, origin_id: string, related_id: string) => created("/v1/mesh/joins", { relationship, origin_id, related_id }),
  };
}

/** The Server-Timing entries of a response: one per call to a logic service. */
export function serviceCalls(res: Response): { service: string; method: string; dur: number }[] {
  const header = res.headers.get("server-timing");
  if (!header) return [];
  return header.split(",").map((entry) => {
    const m = /^\s*([a-z0-9-]+);dur=(\d+(?:\.\d+)?);desc="([A-Za-z]+)"\s*$/.exec(entry);
    expect(m, `malformed Server-Timing entry: ${entry}`).not.toBeNull();
    return { service: m![1]!, dur: Number(m![2]), method: m![3]! };
  });
}

/** A machine client holding `roles`, and its access token. */
export async function clientWithRoles(adminToken: string, roles: string[]): Promise<string> {
  const res = await call("/v1/clients", bearer(adminToken, json("POST", { name: "Mesh robot", roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  const { client_id, client_secret } = await res.json<Row>();
  const token = await call("/v1/auth/token", form({ grant_type: "client_credentials" }, { authorization: `Basic ${btoa(`${client_id}:${client_secret}`)}` }));
  expect(token.status).toBe(200);
  return (await token.json<Row>()).access_token;
}

export async function createRole(adminToken: string, name: string, permissions: Record<string, string[]>) {
  const res = await call("/v1/roles", bearer(adminToken, json("POST", { name, permissions })));
  expect(res.status, await res.clone().text()).toBe(201);
}

export const ids = (rows: Row[]) => rows.map((r) => r.id).sort();
