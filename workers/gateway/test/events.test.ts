// Events and the audit trail inside workerd: the real logic services' outboxes relay to the real
// queue, whose consumer is this gateway; the audit chain and its verification on the real D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildEvent, type PlatformEvent } from "@buildly/shared";
import { recordEvents } from "../src/events";
import { transitionEvent } from "../src/events/workflow-events";
import { PASSWORD, bearer, call, form, json, login, expectProblem, registerOrganization, settledOrganization, type Account } from "./helpers";

const day = [{ start: "09:00", end: "17:00" }];
const WEEK = { mon: day, tue: day, wed: day, thu: day, fri: day, sat: [], sun: [] };

const get = async (a: Account, path: string) => {
  const res = await call(path, bearer(a.access_token));
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return res.json<any>();
};

/** Polls GET /v1/events (bounded) until `done` holds for the organization's events. */
async function eventsUntil(a: Account, done: (events: PlatformEvent[]) => boolean, query = ""): Promise<PlatformEvent[]> {
  let events: PlatformEvent[] = [];
  for (let i = 0; i < 100; i++) {
    events = (await get(a, `/v1/events?limit=100${query}`)).data;
    if (done(events)) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`events never arrived; have: ${events.map((e) => e.type).join(", ")}`);
}

function testEvent(org: string, overrides: Partial<PlatformEvent> = {}): PlatformEvent {
  return {
    ...buildEvent(
      { source: "/buildly/crm", actortype: "user", actorid: crypto.randomUUID(), requestid: crypto.randomUUID() },
      { type: "crm.contact.updated", subject: crypto.randomUUID(), organizationid: org, data: { id: "x", n: Math.random() } },
    ),
    ...overrides,
  };
}

describe("events: from the services' outboxes through the queue to the audit trail", () => {
  it("records a change in every logic service and the identity API, with its actor, and the chain verifies", async () => {
    const admin = await registerOrganization("Events Org");
    const auth = (init: RequestInit = {}) => bearer(admin.access_token, init);
    const contact = await (
      await call("/v1/crm/contacts", auth(json("POST", { first_name: "Ada", last_name: "L", email: `ada-${crypto.randomUUID()}@example.com` })))
    ).json<any>();
    const folder = await (await call("/v1/documents/folders", auth(json("POST", { name: "Plans" })))).json<any>();
    const calendar = await (
      await call("/v1/appointments/calendars", auth(json("POST", { name: "Desk", time_zone: "Europe/Paris", working_hours: WEEK })))
    ).json<any>();
    const user = await (
      await call("/v1/users", auth(json("POST", { email: `v-${crypto.randomUUID()}@example.com`, name: "V", password: PASSWORD, roles: ["viewer"] })))
    ).json<any>();
    expect([contact.id, folder.id, calendar.id, user.id].every(Boolean)).toBe(true);

    const wanted = ["crm.contact.created", "documents.folder.created", "appointments.calendar.created", "identity.user.created", "identity.login.succeeded"];
    const events = await eventsUntil(admin, (es) => wanted.every((t) => es.some((e) => e.type === t)));
    const byType = (t: string) => events.find((e) => e.type === t)!;
    expect(byType("crm.contact.created")).toMatchObject({
      subject: contact.id,
      data: contact,
      actortype: "user",
      actorid: admin.user_id,
      source: "/buildly/crm",
    });
    expect(byType("documents.folder.created")).toMatchObject({ subject: folder.id, actorid: admin.user_id });
    expect(byType("appointments.calendar.created")).toMatchObject({ subject: calendar.id, actorid: admin.user_id, data: { id: calendar.id, name: "Desk" } });
    expect(byType("identity.user.created")).toMatchObject({ subject: user.id, actorid: admin.user_id, source: "/buildly/gateway" });
    expect(JSON.stringify(byType("identity.user.created"))).not.toMatch(/password/i);
    for (const e of events) expect(e.organizationid).toBe(admin.organization_id);

    const audit = await get(admin, "/v1/audit?limit=100");
    expect(audit.data.length).toBe(events.length);
    const entry = audit.data.find((x: any) => x.type === "crm.contact.created");
    expect(entry).toMatchObject({ service: "crm", subject: contact.id, actor: { type: "user", id: admin.user_id }, data: contact });
    expect((await get(admin, "/v1/audit/verify")).intact).toBe(true);
  });

  it("writes the identity events: invited, roles changed, deactivated, client created, rate limits, login failed, token revoked, refresh token reuse", async () => {
    const admin = await registerOrganization("Identity Events");
    const auth = (init: RequestInit = {}) => bearer(admin.access_token, init);
    const email = `u-${crypto.randomUUID()}@example.com`;
    const user = await (await call("/v1/users", auth(json("POST", { email, name: "U", password: PASSWORD, roles: ["viewer"] })))).json<any>();
    expect((await call(`/v1/users/${user.id}/roles`, auth(json("PUT", { roles: ["editor"] })))).status).toBe(200);
    expect((await call("/v1/invitations", auth(json("POST", { email: `i-${crypto.randomUUID()}@example.com`, role: "viewer" })))).status).toBe(201);
    const client = await (await call("/v1/clients", auth(json("POST", { name: "Robot", roles: ["editor"] })))).json<any>();
    expect((await call("/v1/organizations/current", auth(json("PATCH", { rate_limits: { user: { limit: 700, window_seconds: 60 } } })))).status).toBe(200);
    // A wrong password for the user; then its refresh token used twice (reuse), then revoked.
    expect((await call("/v1/auth/token", form({ grant_type: "password", username: email, password: "not the password at all" }))).status).toBe(400);
    const tokens = await login(email);
    const rotated = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }));
    expect(rotated.status).toBe(200);
    expect((await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }))).status).toBe(400);
    const second = await login(email);
    expect((await call("/v1/auth/revoke", form({ token: second.refresh_token }))).status).toBe(200);
    expect((await call(`/v1/users/${user.id}`, auth({ method: "DELETE" }))).status).toBe(204);
    // A client acting for itself is named as the actor of its own changes.
    const clientToken = await (
      await call("/v1/auth/token", form({ grant_type: "client_credentials", client_id: client.client_id, client_secret: client.client_secret }))
    ).json<any>();
    const made = await (await call("/v1/crm/companies", bearer(clientToken.access_token, json("POST", { name: "Made by a robot" })))).json<any>();

    const wanted = [
      "identity.user.roles_changed",
      "identity.user.invited",
      "identity.client.created",
      "identity.organization.rate_limits_changed",
      "identity.login.failed",
      "identity.refresh_token.reuse_detected",
      "identity.refresh_token.revoked",
      "identity.user.deactivated",
    ];
    const events = await eventsUntil(admin, (es) => [...wanted, "crm.company.created"].every((t) => es.some((e) => e.type === t)));
    const of = (t: string) => events.find((e) => e.type === t)!;
    expect(of("identity.user.roles_changed")).toMatchObject({ subject: user.id, data: { roles: ["editor"] }, actorid: admin.user_id });
    expect(of("identity.login.failed")).toMatchObject({ subject: user.id, actortype: "system", data: { reason: "wrong_password" } });
    expect(of("identity.refresh_token.reuse_detected")).toMatchObject({ subject: user.id, actortype: "system" });
    expect(of("identity.refresh_token.revoked")).toMatchObject({ subject: user.id, actortype: "user", actorid: user.id });
    expect(of("identity.user.deactivated")).toMatchObject({ subject: user.id, data: { status: "deactivated" } });
    expect(of("identity.organization.rate_limits_changed").data).toMatchObject({ rate_limits: { user: { limit: 700, window_seconds: 60 } } });
    expect(of("crm.company.created")).toMatchObject({ subject: made.id, actortype: "client", actorid: client.client_id });
    // No secrets anywhere: no password, hash, token or client secret.
    const text = JSON.stringify(events);
    for (const secret of [PASSWORD, client.client_secret, tokens.refresh_token, second.refresh_token, tokens.access_token]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/password_hash|secret_hash|token_hash|pbkdf2/);
    // Filters: by type, by subject, by actor and service in the audit trail.
    const onlyDeactivated = await get(admin, "/v1/events?type=identity.user.deactivated");
    expect(onlyDeactivated.data.map((e: any) => e.subject)).toEqual([user.id]);
    const aboutUser = await get(admin, `/v1/events?subject=${user.id}&limit=100`);
    expect(aboutUser.data.every((e: any) => e.subject === user.id)).toBe(true);
    const byClient = await get(admin, `/v1/audit?actor=${client.client_id}`);
    // Newest first: its token request, then its change.
    expect(byClient.data.map((e: any) => e.type)).toEqual(["crm.company.created", "identity.login.succeeded"]);
    const crm = await get(admin, "/v1/audit?service=crm&limit=100");
    expect(crm.data.every((e: any) => e.service === "crm")).toBe(true);
  });

  it("records a duplicated message once (dedupe by event id), through the queue and directly", async () => {
    const admin = await registerOrganization("Dedupe");
    const event = testEvent(admin.organization_id);
    await env.EVENTS.send({ events: [event] });
    await env.EVENTS.send({ events: [event, event] });
    await eventsUntil(admin, (es) => es.some((e) => e.id === event.id));
    const marker = testEvent(admin.organization_id, { type: "crm.contact.deleted" });
    await env.EVENTS.send({ events: [event, marker] });
    const events = await eventsUntil(admin, (es) => es.some((e) => e.id === marker.id));
    expect(events.filter((e) => e.id === event.id)).toHaveLength(1);
    expect(await recordEvents(env, [event, marker])).toEqual([]);
    const audit = await get(admin, "/v1/audit?limit=100");
    expect(audit.data.filter((e: any) => e.event_id === event.id)).toHaveLength(1);
  });

  it("never forks the chain under concurrent appends", async () => {
    const admin = await settledOrganization("Concurrency");
    const base = admin.base;
    const org = admin.organization_id;
    const batches = Array.from({ length: 16 }, (_, i) => Array.from({ length: 1 + (i % 3) }, () => testEvent(org)));
    const all = batches.flat();
    // Some events are delivered twice, by different consumers at once.
    const results = await Promise.all([...batches, batches[0]!, batches[5]!].map((b) => recordEvents(env, b)));
    expect(new Set(results.flat().map((e) => e.id)).size).toBe(all.length);
    expect(results.flat()).toHaveLength(all.length);
    const rows = await env.DB.prepare("SELECT seq, event_id FROM audit_entries WHERE organization_id = ?1 ORDER BY seq").bind(org).all<{ seq: number }>();
    expect(rows.results.map((r) => r.seq)).toEqual([...Array(base), ...all].map((_, i) => i + 1));
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: true, complete: true, checked: base + all.length, head_seq: base + all.length });
  });

  it("a batch mixing many workflow instances' transitions of two organizations leaves each chain complete", async () => {
    // As across 100 instances: one consumer batch holds the transitions of many instances, of more
    // than one organization, beyond one append chunk (50), some delivered twice and overlapping.
    const [a, b] = [await settledOrganization("Mixed A"), await settledOrganization("Mixed B")];
    const events = Array.from({ length: 130 }, (_, i) => {
      const org = i % 3 === 0 ? b.organization_id : a.organization_id;
      const instance = `inst-${org}-${i % 40}`;
      return transitionEvent({
        instance_id: instance,
        organization_id: org,
        template_id: "tpl",
        version: 2 + Math.floor(i / 40),
        transition: "tick",
        from: "open",
        to: "open",
        actor: { type: "user", id: "u1" },
        time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        request_id: null,
        data: {},
        actions: [],
        subject: null,
      });
    });
    const results = await Promise.all([recordEvents(env, [...events, ...events.slice(0, 10)]), recordEvents(env, events.slice(60, 120))]);
    expect(new Set(results.flat().map((e) => e.id)).size).toBe(events.length);
    expect(results.flat()).toHaveLength(events.length);
    for (const account of [a, b]) {
      const mine = events.filter((e) => e.organizationid === account.organization_id);
      const rows = await env.DB.prepare("SELECT seq, event_id FROM audit_entries WHERE organization_id = ?1 AND seq > ?2 ORDER BY seq")
        .bind(account.organization_id, account.base)
        .all<{ seq: number; event_id: string }>();
      expect(rows.results.map((r) => r.seq)).toEqual(mine.map((_, i) => account.base + i + 1));
      expect(new Set(rows.results.map((r) => r.event_id))).toEqual(new Set(mine.map((e) => e.id)));
      expect(await get(account, "/v1/audit/verify")).toMatchObject({ intact: true, complete: true, checked: account.base + mine.length });
    }
  });

  it("verify reports where a tampered, removed or relinked entry breaks the chain", async () => {
    // The test's entries follow the organization's own first ones: at base + 1 to base + 6.
    const admin = await settledOrganization("Tamper");
    const base = admin.base;
    const org = admin.organization_id;
    await recordEvents(
      env,
      Array.from({ length: 6 }, () => testEvent(org)),
    );
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: true, checked: base + 6, broken: null });

    const third = base + 3;
    const row = await env.DB.prepare("SELECT data FROM audit_entries WHERE organization_id = ?1 AND seq = ?2").bind(org, third).first<{ data: string }>();
    await env.DB.prepare("UPDATE audit_entries SET data = ?3 WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, third, row!.data.replace(/"id":"x"/, '"id":"y"'))
      .run();
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({
      intact: false,
      complete: false,
      checked: third,
      broken: { seq: third, reason: "data_mismatch" },
    });
    // Paging: a walk that starts after the break sees the rest intact.
    expect(await get(admin, `/v1/audit/verify?from_seq=${third + 1}&limit=2`)).toMatchObject({
      intact: true,
      checked: 2,
      next_from_seq: third + 3,
      complete: false,
    });
    await env.DB.prepare("UPDATE audit_entries SET data = ?3 WHERE organization_id = ?1 AND seq = ?2").bind(org, third, row!.data).run();
    expect((await get(admin, "/v1/audit/verify")).intact).toBe(true);

    // An entry removed: the gap is reported.
    await env.DB.prepare("DELETE FROM audit_entries WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, base + 5)
      .run();
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: false, broken: { seq: base + 5, reason: "missing_entry" } });

    // A forged entry with a correct hash of its own but a wrong link.
    const other = await settledOrganization("Relink");
    await recordEvents(
      env,
      Array.from({ length: 3 }, () => testEvent(other.organization_id)),
    );
    await env.DB.prepare("UPDATE audit_entries SET prev_hash = ?3 WHERE organization_id = ?1 AND seq = ?2")
      .bind(other.organization_id, other.base + 2, "f".repeat(64))
      .run();
    expect((await get(other, "/v1/audit/verify")).broken).toMatchObject({ seq: other.base + 2, reason: "hash_mismatch" });
  });

  it("keeps organizations apart, is for admins only, and answers bad filters with 422 naming the field", async () => {
    const a = await registerOrganization("Tenant A");
    const b = await registerOrganization("Tenant B");
    await recordEvents(env, [testEvent(a.organization_id), testEvent(a.organization_id)]);
    const bEvents = (await get(b, "/v1/events?limit=100")).data as PlatformEvent[];
    expect(bEvents.every((e) => e.organizationid === b.organization_id)).toBe(true);
    expect(bEvents.some((e) => e.organizationid === a.organization_id)).toBe(false);
    const bAudit = await get(b, "/v1/audit?limit=100");
    expect(bAudit.data.every((e: any) => e.actor.id !== a.user_id)).toBe(true);
    expect((await get(a, "/v1/audit?limit=100")).data.length).toBeGreaterThanOrEqual(2);

    const viewerEmail = `viewer-${crypto.randomUUID()}@example.com`;
    await call("/v1/users", bearer(a.access_token, json("POST", { email: viewerEmail, name: "V", password: PASSWORD, roles: ["viewer"] })));
    const viewer = await login(viewerEmail);
    for (const path of ["/v1/events", "/v1/audit", "/v1/audit/verify"]) {
      expect((await call(path, bearer(viewer.access_token))).status, path).toBe(403);
      expect((await call(path)).status, path).toBe(401);
    }
    const bad: [string, string][] = [
      ["/v1/events?type=Contact", "type"],
      ["/v1/events?after=yesterday", "after"],
      ["/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"],
      ["/v1/audit?service=CRM!", "service"],
      ["/v1/audit?service=work--orders", "service"],
      ["/v1/events?type=work-orders.item-x.created", "type"],
      ["/v1/audit?cursor=nope", "cursor"],
      ["/v1/audit/verify?limit=100000", "limit"],
      ["/v1/audit/verify?from_seq=0", "from_seq"],
    ];
    for (const [path, field] of bad) {
      const res = await call(path, bearer(a.access_token));
      expect(res.status, path).toBe(422);
      const body = await expectProblem(res);
      expect(
        body.errors.map((e: any) => e.path.replace(/^query\./, "")),
        path,
      ).toContain(field);
    }
    // A service scaffolded with a hyphenated name (npm run new-service -- work-orders) is a valid filter.
    for (const path of ["/v1/events?type=work-orders.item.created", "/v1/audit?service=work-orders"]) {
      expect((await call(path, bearer(a.access_token))).status, path).toBe(200);
    }
  });

  it("pages through events and the audit trail with the shared cursor", async () => {
    const admin = await registerOrganization("Paging");
    const sent = Array.from({ length: 7 }, () => testEvent(admin.organization_id));
    await recordEvents(env, sent);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(admin, `/v1/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((e: any) => e.event_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.filter((id) => sent.some((e) => e.id === id)).reverse()).toEqual(sent.map((e) => e.id));
    const events: string[] = [];
    cursor = null;
    do {
      const page: any = await get(admin, `/v1/events?limit=2&type=crm.contact.updated${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      events.push(...page.data.map((e: any) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(events)).toEqual(new Set(sent.map((e) => e.id)));
  });
});
