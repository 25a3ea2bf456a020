import http from "node:http";
import { describe, expect, it } from "vitest";
import { DEMO_ADMIN, anon, api, baseUrl, expectProblem, passwordToken, patchJson, postJson, unique } from "./helpers";

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

/** The demo organization's seeded contact Grace Hopper (crm seed). */
const GRACE = "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02";
const attendee = (contact_id: string | null) => ({ contact_id, email: `${unique("att")}@e2e.example`, name: "Attendee" });

async function calendar(): Promise<string> {
  const res = await postJson("/v1/appointments/calendars", { name: unique("mesh"), time_zone: "Europe/London" });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

let hour = 0;
const slot = () => {
  const start = Date.UTC(2029, 0, 1) + (hour++ + Math.floor(Math.random() * 1e5)) * 3600_000;
  return { start: new Date(start).toISOString(), end: new Date(start + 3600_000).toISOString() };
};

describe("referential integrity across services, over HTTP", () => {
  it("refuses an appointment naming a contact that does not exist, naming the field; accepts an existing one", async () => {
    expect(DEMO_ADMIN).toContain("demo");
    const calendar_id = await calendar();
    const missing = "00000000-0000-4000-8000-0000000000ff";
    const refused = await postJson("/v1/appointments/appointments", {
      calendar_id,
      title: "Ghost meeting",
      ...slot(),
      attendees: [attendee(GRACE), attendee(missing)],
    });
    const problem = await expectProblem(refused, 422);
    expect(problem.errors).toEqual([{ path: "attendees.1.contact_id", message: `No crm.contacts record with id ${missing} exists in this organization` }]);

    const accepted = await postJson("/v1/appointments/appointments", {
      calendar_id,
      title: "Real meeting",
      ...slot(),
      attendees: [attendee(GRACE), attendee(null)],
    });
    expect(accepted.status, await accepted.clone().text()).toBe(201);
    const id = ((await accepted.json()) as { id: string }).id;
    await expectProblem(await patchJson(`/v1/appointments/appointments/${id}`, { attendees: [attendee(missing)] }), 422);
  });

  it("refuses another organization's contact: it does not exist there", async () => {
    const other = await registerOrg("Mesh Integrity Other");
    const auth = { authorization: `Bearer ${other.token}`, "content-type": "application/json" };
    const cal = await api("/v1/appointments/calendars", { method: "POST", headers: auth, body: JSON.stringify({ name: "Theirs", time_zone: "UTC" }) });
    expect(cal.status).toBe(201);
    const calendar_id = ((await cal.json()) as { id: string }).id;
    const res = await api("/v1/appointments/appointments", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ calendar_id, title: "Poach", ...slot(), attendees: [attendee(GRACE)] }),
    });
    const problem = await expectProblem(res, 422);
    expect(problem.errors?.map((e) => e.path)).toEqual(["attendees.0.contact_id"]);
  });
});

/** A request sent as written: node:http leaves the path and the method as they are (fetch would normalize both). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(baseUrl());
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("one path to every write, over HTTP", () => {
  it("checks the percent-encoded spellings of the appointments collection and record like the plain one", async () => {
    const other = await registerOrg("Mesh Integrity Encoded");
    const auth = { authorization: `Bearer ${other.token}`, "content-type": "application/json" };
    const cal = await api("/v1/appointments/calendars", { method: "POST", headers: auth, body: JSON.stringify({ name: "Theirs", time_zone: "UTC" }) });
    expect(cal.status).toBe(201);
    const calendar_id = ((await cal.json()) as { id: string }).id;
    const poach = () => JSON.stringify({ calendar_id, title: "Poach", ...slot(), attendees: [attendee(GRACE)] });
    for (const path of [
      "/v1/appointments/%61ppointments",
      "/v1/appointments/appointment%73",
      "/v1/appointments/appointmen%74s",
      "/v1/%61ppointments/%61ppointment%73",
      "/v1/appointments/appoi%6Etments",
      "/v1/appointments/x/%2e%2e/appointments",
      "/v1//appointments/appointments",
    ]) {
      const res = await raw("POST", path, auth, poach());
      expect(res.status, `${path}: ${res.text}`).toBe(422);
      expect(JSON.parse(res.text).errors.map((e: { path: string }) => e.path)).toEqual(["attendees.0.contact_id"]);
    }
    expect((await raw("POST", "/v1/appointments/%2561ppointments", auth, poach())).status).toBe(404);
    expect((await raw("POST", "/v1/appointments%2Fappointments", auth, poach())).status).toBe(400);

    const made = await api("/v1/appointments/appointments", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ calendar_id, title: "Mine", ...slot(), attendees: [attendee(null)] }),
    });
    expect(made.status).toBe(201);
    const id = ((await made.json()) as { id: string }).id;
    const patched = await raw("PATCH", `/v1/appointments/%61ppointments/${id}`, auth, JSON.stringify({ attendees: [attendee(GRACE)] }));
    expect(patched.status, patched.text).toBe(422);
  });
});

describe("on_delete over HTTP", () => {
  it("deleting a contact who attends an appointment with a demo contact removes them; the appointment remains", async () => {
    const made = await postJson("/v1/crm/contacts", { first_name: "Leaving", last_name: unique("contact"), email: `${unique("leaving")}@e2e.example` });
    expect(made.status, await made.clone().text()).toBe(201);
    const leaving = ((await made.json()) as { id: string }).id;
    const booked = await postJson("/v1/appointments/appointments", {
      calendar_id: await calendar(),
      title: unique("meeting"),
      ...slot(),
      attendees: [attendee(leaving), attendee(GRACE)],
    });
    expect(booked.status, await booked.clone().text()).toBe(201);
    const appointment = ((await booked.json()) as { id: string }).id;

    expect((await api(`/v1/crm/contacts/${leaving}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/v1/crm/contacts/${leaving}`)).status).toBe(404);
    const after = await api(`/v1/appointments/appointments/${appointment}`);
    expect(after.status).toBe(200);
    const attendees = ((await after.json()) as { attendees: { contact_id: string | null }[] }).attendees;
    expect(attendees.map((a) => a.contact_id)).toEqual([GRACE]);
  });
});
