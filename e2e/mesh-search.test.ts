import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { anon, api, expectProblem, passwordToken, unique } from "./helpers";
import { SERVICE_NAMES } from "./registry";

const PASSWORD = "a long enough password";

async function registerOrg(name: string) {
  const email = `${unique("mesh")}@e2e.example`;
  const res = await anon("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, name: "Owner", organization_name: name }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return { token: await passwordToken(email, PASSWORD) };
}

const as =
  (token: string) =>
  (path: string, init: RequestInit = {}) =>
    api(path, { ...init, headers: { ...(init.headers as object), authorization: `Bearer ${token}` } });

async function create(token: string, path: string, body: unknown): Promise<any> {
  const res = await as(token)(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text);
}

describe("search across every service, over HTTP", () => {
  let one: { token: string };
  let two: { token: string };
  let word: string;
  const made: Record<string, any> = {};

  beforeAll(async () => {
    one = await registerOrg("Mesh Search One");
    two = await registerOrg("Mesh Search Two");
    word = `Quokka${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    made.company = await create(one.token, "/v1/crm/companies", { name: word });
    made.contact = await create(one.token, "/v1/crm/contacts", { first_name: "Ada", last_name: word, email: `${unique("ada")}@e2e.example` });
    const upload = await as(one.token)(`/v1/documents/files?name=${encodeURIComponent(`${word} minutes.txt`)}`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "minutes",
    });
    expect(upload.status).toBe(201);
    made.file = await upload.json();
    const calendar = await create(one.token, "/v1/appointments/calendars", { name: "Desk", time_zone: "Europe/London" });
    made.appointment = await create(one.token, "/v1/appointments/appointments", {
      calendar_id: calendar.id,
      title: `${word} kickoff`,
      start: "2027-03-01T10:00:00Z",
      end: "2027-03-01T11:00:00Z",
    });
  });

  it("finds a company, a contact, a file and an appointment in one request, best first, each with its url", async () => {
    const res = await as(one.token)(`/v1/mesh/search?q=${word}`);
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("true");
    expect(body.data.map((h: any) => `${h.service}.${h.model}`)).toEqual(["crm.companies", "documents.files", "appointments.appointments", "crm.contacts"]);
    expect(body.data.map((h: any) => h.id)).toEqual([made.company.id, made.file.id, made.appointment.id, made.contact.id]);
    expect(body.data[0]).toMatchObject({ name: word, type: "company", url: `/v1/crm/companies/${made.company.id}` });
    expect(body.next_cursor).toBeNull();
    // Server-Timing: one entry per service asked.
    const services = (res.headers.get("server-timing") ?? "")
      .split(", ")
      .filter((e) => e.includes('desc="search"'))
      .map((e) => e.split(";")[0]);
    expect(services).toEqual(SERVICE_NAMES);
    for (const hit of body.data) expect((await as(one.token)(hit.url)).status, hit.url).toBe(200);
  });

  it("shows a second organization none of the first's hits", async () => {
    const res = await as(two.token)(`/v1/mesh/search?q=${word}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: [], next_cursor: null });
  });

  it("pages with a cursor and limits to the models asked for", async () => {
    const first = (await (await as(one.token)(`/v1/mesh/search?q=${word}&limit=3`)).json()) as any;
    expect(first.data).toHaveLength(3);
    const second = (await (await as(one.token)(`/v1/mesh/search?q=${word}&limit=3&cursor=${first.next_cursor}`)).json()) as any;
    expect(second.data.map((h: any) => h.id)).toEqual([made.contact.id]);
    expect(second.next_cursor).toBeNull();
    const files = (await (await as(one.token)(`/v1/mesh/search?q=${word}&models=documents.files`)).json()) as any;
    expect(files.data.map((h: any) => h.id)).toEqual([made.file.id]);
    await expectProblem(await as(one.token)(`/v1/mesh/search?q=${word}&models=crm.pipelines`), 422);
    await expectProblem(await anon(`/v1/mesh/search?q=${word}`), 401);
  });

  it("lists the models behind it", async () => {
    const res = await as(one.token)("/v1/mesh/models");
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const appointments = body.data.find((m: any) => m.service === "appointments" && m.name === "appointments");
    expect(appointments.fields).toContainEqual(expect.objectContaining({ name: "attendees[].contact_id", references: { service: "crm", model: "contacts" } }));
  });
});
