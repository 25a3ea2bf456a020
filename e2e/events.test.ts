// Events and the audit trail end to end, over HTTP only (plus one direct write to the local D1
// state, the way an operator with the machine could tamper with the trail). Calls go through the
// SDK (typed from /openapi.json); the file upload stays raw (a file's body is its bytes).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Client, Schema } from "@buildly/sdk";
import { describe, expect, inject, it } from "vitest";
import { api, expectApiError, passwordToken, type RegisteredOrg, registerOrg, sdk, unique } from "./helpers";
import { REPO_ROOT } from "./paths";

const PASSWORD = "a long enough password";
const day = [{ start: "09:00", end: "17:00" }];
const WEEK = { mon: day, tue: day, wed: day, thu: day, fri: day, sat: [], sun: [] };

type Org = RegisteredOrg & { client: Client };
type Event = Schema<"Event">;

async function org(name: string): Promise<Org> {
  const o = await registerOrg(name);
  return { ...o, client: sdk(o.token) };
}

/** The body of an answer that must have exactly this status. */
async function expectStatus<T>(call: Promise<{ data: T; response: Response }>, status: number, what: string): Promise<T> {
  const { data, response } = await call;
  expect(response.status, `${what}: ${JSON.stringify(data)}`).toBe(status);
  return data;
}

const events = (o: Org) => expectStatus(o.client.withResponse.GET("/v1/events", { params: { query: { limit: 100 } } }), 200, "/v1/events");
const audit = (o: Org, query: { limit?: number; service?: string; actor?: string } = {}) =>
  expectStatus(o.client.withResponse.GET("/v1/audit", { params: { query } }), 200, "/v1/audit");
const verify = (o: Org) => expectStatus(o.client.withResponse.GET("/v1/audit/verify"), 200, "/v1/audit/verify");

/** Polls GET /v1/events until every (type, subject) pair is there; the queue delivers within about a second. */
async function eventsFor(o: Org, wanted: [string, string][]): Promise<Event[]> {
  let seen: Event[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    seen = (await events(o)).data;
    if (wanted.every(([t, s]) => seen.some((e) => e.type === t && e.subject === s))) return seen;
    await new Promise((r) => setTimeout(r, 250));
  }
  const missing = wanted.filter(([t, s]) => !seen.some((e) => e.type === t && e.subject === s));
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
    const o = await org("Events E2E");
    const other = await org("Events E2E other");

    const contact = await expectStatus(
      o.client.withResponse.POST("/v1/crm/contacts", { body: { first_name: "Grace", last_name: "Hopper", email: `${unique("grace")}@example.com` } }),
      201,
      "/v1/crm/contacts",
    );
    const contactPath = { params: { path: { id: contact.id } } };
    const patched = await o.client.withResponse.PATCH("/v1/crm/contacts/{id}", { ...contactPath, body: { phone: "+12025550100" } });
    expect(patched.response.status).toBe(200);
    const upload = await api("/v1/documents/files?name=notes.txt", {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: `Bearer ${o.token}` },
      body: "hello events",
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const file = (await upload.json()) as Schema<"Documents_File">;
    const calendar = await expectStatus(
      o.client.withResponse.POST("/v1/appointments/calendars", { body: { name: "Front desk", time_zone: "Europe/London", working_hours: WEEK } }),
      201,
      "/v1/appointments/calendars",
    );
    const user = await expectStatus(
      o.client.withResponse.POST("/v1/users", { body: { email: `${unique("member")}@e2e.example`, name: "Member", password: PASSWORD, roles: ["viewer"] } }),
      201,
      "/v1/users",
    );
    const roles = await o.client.withResponse.PUT("/v1/users/{id}/roles", { params: { path: { id: user.id } }, body: { roles: ["editor"] } });
    expect(roles.response.status).toBe(200);
    const gone = await o.client.withResponse.DELETE("/v1/crm/contacts/{id}", contactPath);
    expect(gone.response.status).toBe(204);

    const wanted: [string, string][] = [
      ["crm.contact.created", contact.id],
      ["crm.contact.updated", contact.id],
      ["crm.contact.deleted", contact.id],
      ["documents.file.created", file.id],
      ["appointments.calendar.created", calendar.id],
      ["identity.user.created", user.id],
      ["identity.user.roles_changed", user.id],
      ["identity.login.succeeded", o.user_id],
      // Self-registration is a change too: the new admin registered themselves.
      ["identity.user.registered", o.user_id],
    ];
    const seen = await eventsFor(o, wanted);
    for (const [type, subject] of wanted) {
      const e = seen.find((x) => x.type === type && x.subject === subject);
      expect(e, type).toMatchObject({ specversion: "1.0", organizationid: o.organization_id, actortype: "user", actorid: o.user_id });
      expect(e!.requestid).toBeTruthy();
    }
    expect(seen.find((e) => e.type === "crm.contact.created")!.data).toEqual(contact);
    expect(JSON.stringify(seen)).not.toContain("hello events");
    // Each event once, whatever the queue redelivered.
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);

    const trail = (await audit(o, { limit: 100 })).data;
    for (const [type, subject] of wanted) {
      expect(
        trail.some((a) => a.type === type && a.subject === subject && a.actor.id === o.user_id && a.actor.type === "user"),
        type,
      ).toBe(true);
    }
    const crmOnly = (await audit(o, { service: "crm", actor: o.user_id })).data;
    expect(crmOnly.map((a) => a.type)).toEqual(["crm.contact.deleted", "crm.contact.updated", "crm.contact.created"]);
    expect(await verify(o)).toMatchObject({ intact: true, complete: true, broken: null });

    // The other organization sees none of it.
    const theirs = (await events(other)).data;
    expect(theirs.some((e) => e.organizationid !== other.organization_id)).toBe(false);
    expect(theirs.some((e) => e.subject === contact.id)).toBe(false);
    expect((await audit(other, { limit: 100 })).data.some((a) => a.actor.id === o.user_id)).toBe(false);

    // Someone with the database rewrites history: verify names the entry.
    const target = trail.find((a) => a.type === "crm.contact.updated")!;
    d1(
      `UPDATE audit_entries SET data = '{"id":"${contact.id}","phone":"+10000000000"}' WHERE organization_id = '${o.organization_id}' AND seq = ${target.seq}`,
    );
    const report = await verify(o);
    expect(report).toMatchObject({ intact: false, broken: { seq: target.seq, event_id: target.event_id, reason: "data_mismatch" } });
    expect((await verify(other)).intact).toBe(true);
  });

  it("is for admins only and answers bad filters with 422 naming the field", async () => {
    const o = await org("Events E2E rights");
    const email = `${unique("viewer")}@e2e.example`;
    await expectStatus(o.client.withResponse.POST("/v1/users", { body: { email, name: "Viewer", password: PASSWORD, roles: ["viewer"] } }), 201, "/v1/users");
    const viewer = sdk(await passwordToken(email, PASSWORD));
    await expectApiError(viewer.GET("/v1/audit"), 403);
    await expectApiError(viewer.GET("/v1/events"), 403);
    const err = await expectApiError(o.client.GET("/v1/audit", { params: { query: { from: "2026-03-01T00:00:00Z", to: "2026-01-01T00:00:00Z" } } }), 422);
    expect(err.errors.map((e) => String(e.path).replace(/^query\./, ""))).toContain("from");
  });
});
