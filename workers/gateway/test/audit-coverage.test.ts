// Every change the gateway itself makes becomes one event (README "Event types"): each type is
// made here through the API, then must appear in GET /v1/events and GET /v1/audit with its actor
// and what changed, and no secret (password, token, reset code, client or webhook secret).
import { beforeAll, describe, expect, it } from "vitest";
import type { PlatformEvent } from "@buildly/shared";
import { GATEWAY_EVENT_TYPES } from "../src/events";

/** The sign-in and token events, user management and organization updates: covered by test/events.test.ts. */
const ELSEWHERE = [
  "identity.login.succeeded",
  "identity.login.failed",
  "identity.refresh_token.revoked",
  "identity.refresh_token.reuse_detected",
  "identity.user.created",
  "identity.user.updated",
  "identity.user.invited",
  "identity.user.roles_changed",
  "identity.user.deactivated",
  "identity.organization.updated",
  // Single sign-on: test/sso.test.ts.
  "identity.identity_provider.created",
  "identity.identity_provider.updated",
  "identity.identity_provider.deleted",
  "identity.organization.sso_policy_changed",
  "identity.user.identity_linked",
  // Second factors: test/second-factors.test.ts.
  "identity.user.second_factor_added",
  "identity.user.second_factor_removed",
  "identity.user.recovery_codes_regenerated",
  "identity.organization.second_factor_policy_changed",
];
const COVERED: string[] = GATEWAY_EVENT_TYPES.filter((t) => !ELSEWHERE.includes(t));
import { env } from "cloudflare:workers";
import { PASSWORD, bearer, call, json, login, mailTo, registerOrganization, type Account, ok } from "./helpers";

const as = (token: string) => ({
  get: (path: string) => ok(call(path, bearer(token))),
  post: (path: string, body: unknown, status = 201) => ok(call(path, bearer(token, json("POST", body))), status),
  patch: (path: string, body: unknown) => ok(call(path, bearer(token, json("PATCH", body)))),
  put: (path: string, body: unknown) => ok(call(path, bearer(token, json("PUT", body)))),
  delete: (path: string) => ok(call(path, bearer(token, { method: "DELETE" })), 204),
});

/** Polls (bounded) GET /v1/events until every type in `types` is there; the organization's events, newest first. */
async function eventsWith(admin: Account, types: string[]): Promise<PlatformEvent[]> {
  let events: PlatformEvent[] = [];
  for (let i = 0; i < 200; i++) {
    events = [];
    let cursor: string | null = null;
    do {
      const page: { data: PlatformEvent[]; next_cursor: string | null } = await as(admin.access_token).get(
        `/v1/events?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      );
      events.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    if (types.every((t) => events.some((e) => e.type === t))) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`missing: ${types.filter((t) => !events.some((e) => e.type === t)).join(", ")}`);
}

let admin: Account;
let events: PlatformEvent[];
let audit: any[];
/** Every secret the changes below handled. */
const secrets: string[] = [];
/** What each type's event must say: its subject, actor and data. */
const expected: Record<string, { subject: string; actortype: string; actorid: string | null; data: Record<string, unknown> }> = {};

beforeAll(async () => {
  admin = await registerOrganization("Audit Everything");
  secrets.push(PASSWORD, admin.access_token, admin.refresh_token);
  const api = as(admin.access_token);
  const by = (data: Record<string, unknown>, subject: string, actorid: string | null = admin.user_id, actortype = "user") => ({
    subject,
    actortype,
    actorid,
    data,
  });
  expected["identity.user.registered"] = by({ id: admin.user_id, roles: ["admin"], organization_name: "Audit Everything" }, admin.user_id);

  // Custom roles.
  const role = await api.post("/v1/roles", { name: "auditors", permissions: { crm: ["read"] } });
  await api.patch(`/v1/roles/${role.id}`, { permissions: { crm: ["read", "update"] } });
  await api.delete(`/v1/roles/${role.id}`);
  expected["identity.role.created"] = by({ id: role.id, name: "auditors", permissions: { crm: ["read"] } }, role.id);
  expected["identity.role.updated"] = by({ id: role.id, permissions: { crm: ["read", "update"] }, previous_permissions: { crm: ["read"] } }, role.id);
  expected["identity.role.deleted"] = by({ id: role.id, name: "auditors" }, role.id);

  // Clients and rate limits.
  const client = await api.post("/v1/clients", { name: "Robot", roles: ["viewer"] });
  secrets.push(client.client_secret);
  await api.delete(`/v1/clients/${client.client_id}`);
  expected["identity.client.created"] = by({ client_id: client.client_id, roles: ["viewer"] }, client.client_id);
  expected["identity.client.revoked"] = by({ client_id: client.client_id, status: "revoked" }, client.client_id);
  await api.patch("/v1/organizations/current", { rate_limits: { user: { limit: 650, window_seconds: 60 } } });
  expected["identity.organization.rate_limits_changed"] = by({ rate_limits: { user: { limit: 650, window_seconds: 60 } } }, admin.organization_id);

  // An invitation accepted: the new member's role, the new member as actor.
  const email = `invitee-${crypto.randomUUID()}@example.com`;
  const invitation = await api.post("/v1/invitations", { email, role: "editor" });
  secrets.push(invitation.token);
  const joined = await ok(call("/v1/auth/register", json("POST", { invitation_token: invitation.token, password: PASSWORD, name: "Invitee" })), 201);
  expected["identity.invitation.accepted"] = by(
    { id: joined.user.id, invitation_id: invitation.id, email, roles: ["editor"], invited_by: admin.user_id },
    joined.user.id,
    joined.user.id,
  );

  // Password change (by the member) and reset (by whoever holds the code).
  const member = await login(email);
  secrets.push(member.access_token, member.refresh_token);
  const changed = "a changed password 42";
  secrets.push(changed);
  await ok(call("/v1/auth/password", bearer(member.access_token, json("POST", { current_password: PASSWORD, new_password: changed }))), 204);
  expected["identity.user.password_changed"] = by({ id: joined.user.id, refresh_tokens_revoked: true }, joined.user.id, joined.user.id);
  await ok(call("/v1/auth/password-reset", json("POST", { email })), 202);
  const code = /token within one hour to set a new password: (\S+)/.exec(await mailTo(env.DB, email))![1]!;
  const reset = "a reset password 4242";
  secrets.push(code, reset);
  await ok(call("/v1/auth/password-reset/confirm", json("POST", { token: code, new_password: reset })), 204);
  expected["identity.user.password_reset"] = by({ id: joined.user.id, refresh_tokens_revoked: true }, joined.user.id, joined.user.id);

  // Webhooks: create, change, rotate, delete.
  const hook = await api.post("/v1/webhooks", { url: "https://hooks.example.com/audit/ok", events: ["crm.*"] });
  await api.patch(`/v1/webhooks/${hook.id}`, { events: ["*"], description: "everything" });
  const rotated = await api.post(`/v1/webhooks/${hook.id}/rotate-secret`, undefined, 200);
  secrets.push(hook.secret, rotated.secret);
  await api.delete(`/v1/webhooks/${hook.id}`);
  const url = "https://hooks.example.com/audit/ok";
  expected["webhooks.subscription.created"] = by({ id: hook.id, url, events: ["crm.*"], status: "active" }, hook.id);
  expected["webhooks.subscription.updated"] = by({ id: hook.id, url, events: ["*"], description: "everything", changed: ["events", "description"] }, hook.id);
  expected["webhooks.subscription.secret_rotated"] = by({ id: hook.id }, hook.id);
  expected["webhooks.subscription.deleted"] = by({ id: hook.id, url, events: ["*"] }, hook.id);

  // The mesh: a relationship of its own, a join record through it, both removed again.
  const relationship = await api.post("/v1/mesh/relationships", {
    key: "advisors",
    reverse_key: "advised_companies",
    origin: { service: "crm", model: "companies" },
    related: { service: "crm", model: "contacts" },
    kind: "join_records",
  });
  const company = await api.post("/v1/crm/companies", { name: "Audited Ltd" });
  const contact = await api.post("/v1/crm/contacts", { first_name: "Ada", last_name: "L", email: `ada-${crypto.randomUUID()}@example.com` });
  const join = await api.post("/v1/mesh/joins", { relationship: "advisors", origin_id: company.id, related_id: contact.id });
  await api.delete(`/v1/mesh/joins/${join.id}`);
  await api.delete(`/v1/mesh/relationships/${relationship.id}`);
  expected["mesh.relationship.created"] = by({ id: relationship.id, key: "advisors", kind: "join_records" }, relationship.id);
  expected["mesh.relationship.deleted"] = by({ id: relationship.id }, relationship.id);
  const link = { id: join.id, relationship_id: relationship.id, origin: { id: company.id }, related: { id: contact.id } };
  expected["mesh.join.created"] = by(link, join.id);
  expected["mesh.join.deleted"] = by(link, join.id);

  // Privacy: a legal hold placed and released, a consent recorded, the retention policy set.
  const hold = await api.post("/v1/privacy/holds", { service: "crm", model: "contacts", record_id: contact.id, reason: "Audit" });
  await api.post(`/v1/privacy/holds/${hold.id}/release`, { reason: "Done" }, 200);
  const consent = await api.post("/v1/privacy/consents", { contact_id: contact.id, purpose: "newsletter", status: "given", source: "web_form" });
  const retention = { events_days: 365, webhook_deliveries_days: 14, audit_payloads_days: 90 };
  await api.put("/v1/privacy/retention", retention);
  expected["privacy.legal_hold.placed"] = by({ id: hold.id, service: "crm", model: "contacts", record_id: contact.id, reason: "Audit" }, hold.id);
  expected["privacy.legal_hold.released"] = by({ id: hold.id, release_reason: "Done" }, hold.id);
  expected["privacy.consent.recorded"] = by({ id: consent.id, contact_id: contact.id, purpose: "newsletter", status: "given", source: "web_form" }, contact.id);
  expected["privacy.retention_policy.changed"] = by(retention, admin.organization_id);

  // Workflows: a template with a second version, one transition, another template deleted.
  const definition = {
    name: "Audit approval",
    initial_state: "draft",
    states: [
      { key: "draft", name: "Draft" },
      { key: "done", name: "Done", terminal: true },
    ],
    transitions: [{ key: "finish", name: "Finish", from: ["draft"], to: "done" }],
  };
  const template = await api.post("/v1/workflows/templates", definition);
  await api.put(`/v1/workflows/templates/${template.id}`, { ...definition, name: "Audit approval v2" });
  const instance = await api.post("/v1/workflows/instances", { template_id: template.id });
  await api.post(`/v1/workflows/instances/${instance.id}/transitions`, { transition: "finish", data: { note: "signed" } }, 200);
  const doomed = await api.post("/v1/workflows/templates", { ...definition, name: "Doomed" });
  await api.delete(`/v1/workflows/templates/${doomed.id}`);
  expected["workflows.template.created"] = by(
    { id: template.id, version: 1, name: "Audit approval", states: ["draft", "done"], transitions: ["finish"] },
    template.id,
  );
  expected["workflows.template.updated"] = by({ id: template.id, version: 2, name: "Audit approval v2" }, template.id);
  expected["workflows.template.deleted"] = by({ id: doomed.id }, doomed.id);
  expected["workflows.instance.transitioned"] = by(
    { id: instance.id, template_id: template.id, transition: "finish", from: "draft", to: "done", version: 2, data: { note: "signed" } },
    instance.id,
  );

  events = await eventsWith(admin, Object.keys(expected));
  audit = [];
  let cursor: string | null = null;
  do {
    const page: { data: any[]; next_cursor: string | null } = await as(admin.access_token).get(`/v1/audit?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    audit.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
}, 120_000);

describe("every change the gateway makes is one event, in /v1/events and /v1/audit", () => {
  it("covers every type the gateway declares but those events.test.ts covers", () => {
    expect([...COVERED].sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(COVERED)("%s: once in the events and the audit trail, with actor and what changed, no secret", (type) => {
    const want = expected[type]!;
    const mine = events.filter((e) => e.type === type && e.subject === want.subject);
    expect(mine, type).toHaveLength(1);
    const e = mine[0]!;
    expect(e).toMatchObject({ source: "/buildly/gateway", organizationid: admin.organization_id, actortype: want.actortype, actorid: want.actorid });
    expect(e.data).toMatchObject(want.data);
    const entry = audit.find((a) => a.event_id === e.id);
    expect(entry, `${type} in the audit trail`).toMatchObject({
      type,
      service: type.split(".")[0],
      subject: want.subject,
      actor: { type: want.actortype, id: want.actorid },
      data: e.data,
    });
    const text = JSON.stringify([e, entry]);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/whsec_|password_hash|secret_hash|token_hash|secret_sealed|pbkdf2/i);
  });

  it("the chain with all of them verifies", async () => {
    const report = await as(admin.access_token).get("/v1/audit/verify");
    expect(report).toMatchObject({ intact: true, complete: true });
  });
});
