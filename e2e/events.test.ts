// Events and the audit trail end to end, over HTTP only (plus one direct write to the local D1
// state, the way an operator with the machine could tamper with the trail).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { checkedFetch, baseUrl, passwordToken, unique, registerOrg, type RegisteredOrg } from "./helpers";
import { REPO_ROOT } from "./paths";

const PASSWORD = "a long enough password";
const day = [{ start: "09:00", end: "17:00" }];
const WEEK = { mon: day, tue: day, wed: day, thu: day, fri: day, sat: [], sun: [] };

type Org = RegisteredOrg;

function as(org: Org, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${org.token}`);
  if (typeof init.body === "string") headers.set("content-type", "application/json");
  return checkedFetch(baseUrl() + path, { ...init, headers });
}

async function created(org: Org, path: string, body: unknown): Promise<any> {
  const res = await as(org, path, { method: "POST", body: JSON.stringify(body) });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
  return res.json();
}

async function read(org: Org, path: string): Promise<any> {
  const res = await as(org, path);
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return res.json();
}

/** Polls GET /v1/events until every (type, subject) pair is there; the queue delivers within about a second. */
async function eventsFor(org: Org, wanted: [string, string][]): Promise<any[]> {
  let events: any[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    events = (await read(org, "/v1/events?limit=100")).data;
    if (wanted.every(([t, s]) => events.some((e) => e.type === t && e.subject === s))) return events;
    await new Promise((r) => setTimeout(r, 250));
  }
  const missing = wanted.filter(([t, s]) => !events.some((e) => e.type === t && e.subject === s));
  throw new Error(`events that never arrived: ${JSON.stringify(missing)}`);
}

function d1(sql: string) {
  return execFileSync(
    join(REPO_ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", "DB", "--local", "--json", "-c", join(REPO_ROOT, "workers/gateway/wrangler.toml"), "--persist-to", inject("stateDir"), "--command", sql],
    { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, encoding: "utf8" },
  );
}

describe("events and the audit trail over HTTP", () => {
  it("records changes in all three services and the identity API with their actor; verify is intact, then reports a tampered row", async () => {
    const org = await registerOrg("Events E2E");
    const other = await registerOrg("Events E2E other");

    const contact = await created(org, "/v1/crm/contacts", { first_name: "Grace", last_name: "Hopper", email: `${unique("grace")}@example.com` });
    const patched = await as(org, `/v1/crm/contacts/${contact.id}`, { method: "PATCH", body: JSON.stringify({ phone: "+12025550100" }) });
    expect(patched.status).toBe(200);
    const upload = await as(org, "/v1/documents/files?name=notes.txt", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello events" });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const file = (await upload.json()) as any;
    const calendar = await created(org, "/v1/appointments/calendars", { name: "Front desk", time_zone: "Europe/London", working_hours: WEEK });
    const user = await created(org, "/v1/users", { email: `${unique("member")}@e2e.example`, name: "Member", password: PASSWORD, roles: ["viewer"] });
    const roles = await as(org, `/v1/users/${user.id}/roles`, { method: "PUT", body: JSON.stringify({ roles: ["editor"] }) });
    expect(roles.status).toBe(200);
    const gone = await as(org, `/v1/crm/contacts/${contact.id}`, { method: "DELETE" });
    expect(gone.status).toBe(204);

    const wanted: [string, string][] = [
      ["crm.contact.created", contact.id],
      ["crm.contact.updated", contact.id],
      ["crm.contact.deleted", contact.id],
      ["documents.file.created", file.id],
      ["appointments.calendar.created", calendar.id],
      ["identity.user.created", user.id],
      ["identity.user.roles_changed", user.id],
      ["identity.login.succeeded", org.user_id],
      // Self-registration is a change too: the new admin registered themselves.
      ["identity.user.registered", org.user_id],
    ];
    const events = await eventsFor(org, wanted);
    for (const [type, subject] of wanted) {
      const e = events.find((x) => x.type === type && x.subject === subject);
      expect(e, type).toMatchObject({ specversion: "1.0", organizationid: org.organization_id, actortype: "user", actorid: org.user_id });
      expect(e.requestid).toBeTruthy();
    }
    expect(events.find((e) => e.type === "crm.contact.created").data).toEqual(contact);
    expect(JSON.stringify(events)).not.toContain("hello events");
    // Each event once, whatever the queue redelivered.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const audit = (await read(org, "/v1/audit?limit=100")).data as any[];
    for (const [type, subject] of wanted) {
      expect(
        audit.some((a) => a.type === type && a.subject === subject && a.actor.id === org.user_id && a.actor.type === "user"),
        type,
      ).toBe(true);
    }
    const crmOnly = (await read(org, `/v1/audit?service=crm&actor=${org.user_id}`)).data as any[];
    expect(crmOnly.map((a) => a.type)).toEqual(["crm.contact.deleted", "crm.contact.updated", "crm.contact.created"]);
    expect(await read(org, "/v1/audit/verify")).toMatchObject({ intact: true, complete: true, broken: null });

    // The other organization sees none of it.
    const theirs = (await read(other, "/v1/events?limit=100")).data as any[];
    expect(theirs.some((e) => e.organizationid !== other.organization_id)).toBe(false);
    expect(theirs.some((e) => e.subject === contact.id)).toBe(false);
    expect(((await read(other, "/v1/audit?limit=100")).data as any[]).some((a) => a.actor.id === org.user_id)).toBe(false);

    // Someone with the database rewrites history: verify names the entry.
    const target = audit.find((a) => a.type === "crm.contact.updated");
    d1(
      `UPDATE audit_entries SET data = '{"id":"${contact.id}","phone":"+10000000000"}' WHERE organization_id = '${org.organization_id}' AND seq = ${target.seq}`,
    );
    const report = await read(org, "/v1/audit/verify");
    expect(report).toMatchObject({ intact: false, broken: { seq: target.seq, event_id: target.event_id, reason: "hash_mismatch" } });
    expect((await read(other, "/v1/audit/verify")).intact).toBe(true);
  });

  it("is for admins only and answers bad filters with 422 naming the field", async () => {
    const org = await registerOrg("Events E2E rights");
    const email = `${unique("viewer")}@e2e.example`;
    await created(org, "/v1/users", { email, name: "Viewer", password: PASSWORD, roles: ["viewer"] });
    const viewer = { ...org, token: await passwordToken(email, PASSWORD) };
    expect((await as(viewer, "/v1/audit")).status).toBe(403);
    expect((await as(viewer, "/v1/events")).status).toBe(403);
    const res = await as(org, "/v1/audit?from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z");
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).errors.map((e: any) => String(e.path).replace(/^query\./, ""))).toContain("from");
  });
});
