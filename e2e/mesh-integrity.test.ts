import { describe, expect, it } from "vitest";
import { DEMO_ADMIN, anon, api, expectProblem, passwordToken, patchJson, postJson, unique } from "./helpers";

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
