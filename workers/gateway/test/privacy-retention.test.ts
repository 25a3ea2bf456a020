// Retention policies per organization (issue 23): GET/PUT /v1/privacy/retention, and the daily
// scheduled job that enforces them in bounded batches, called here as the cron calls it.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildEvent, newId, type PlatformEvent } from "@buildly/shared";
import { recordEvents } from "../src/events";
import worker from "../src/index";
import { bearer, call, expectProblem, json, registerOrganization, settledOrganization, type Account } from "./helpers";
import { userWith } from "./mesh-helpers";

const get = async (a: Account | string, path: string) => {
  const res = await call(path, bearer(typeof a === "string" ? a : a.access_token));
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return res.json<any>();
};
const put = (token: string, body: unknown) => call("/v1/privacy/retention", bearer(token, json("PUT", body)));
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

function events(org: string, n: number): PlatformEvent[] {
  return Array.from({ length: n }, (_, i) =>
    buildEvent(
      { source: "/buildly/crm", actortype: "user", actorid: crypto.randomUUID(), requestid: crypto.randomUUID() },
      {
        type: "crm.contact.updated",
        subject: crypto.randomUUID(),
        organizationid: org,
        data: { email: `p${i}@example.com` },
        time: new Date(Date.now() + i).toISOString(),
      },
    ),
  );
}

/** Ten more events, then recorded_at moved back (bookkeeping: the chain does not cover it): seqs 1-4 120 days ago, 5-8 60 days ago. */
async function agedChain(org: string) {
  await recordEvents(env, events(org, 10));
  await env.DB.prepare("UPDATE audit_entries SET recorded_at = ?2 WHERE organization_id = ?1 AND seq <= 4").bind(org, daysAgo(120)).run();
  await env.DB.prepare("UPDATE audit_entries SET recorded_at = ?2 WHERE organization_id = ?1 AND seq BETWEEN 5 AND 8").bind(org, daysAgo(60)).run();
}

async function entries(org: string) {
  const { results } = await env.DB.prepare("SELECT seq, data, redacted_at FROM audit_entries WHERE organization_id = ?1 ORDER BY seq").bind(org).all<any>();
  return results;
}

/** Finished and pending deliveries of one subscription, created `age` days ago. */
async function deliveries(org: string, age: number, statuses: string[]) {
  const sub = newId();
  const at = daysAgo(age);
  await env.DB.prepare(
    "INSERT INTO webhook_subscriptions (id, organization_id, url, events, status, secret_sealed, created_at, updated_at) VALUES (?1, ?2, 'https://hooks.example/x', '[\"*\"]', 'active', 'x', ?3, ?3)",
  )
    .bind(sub, org, at)
    .run();
  for (const status of statuses) {
    const id = newId();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO webhook_deliveries (id, subscription_id, organization_id, event_id, event_type, payload, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'crm.contact.updated', '{}', ?5, ?6, ?6)",
      ).bind(id, sub, org, newId(), status, at),
      env.DB.prepare("INSERT INTO webhook_delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, succeeded) VALUES (?1, ?2, 1, ?3, 5, 1)").bind(
        newId(),
        id,
        at,
      ),
    ]);
  }
}

const count = async (sql: string, org: string) => (await env.DB.prepare(sql).bind(org).first<{ n: number }>())!.n;

/** One run of the daily cron, as Cloudflare calls it, with at most `rows` rows per organization and kind of data. */
async function dailyRun(rows: number) {
  const controller = createScheduledController({ cron: "17 3 * * *", scheduledTime: Date.now() });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, { ...env, RETENTION_ROWS_PER_RUN: String(rows) } as Env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("retention policies", () => {
  it("has the platform's defaults until set; admins or the privacy permission; bounds checked", async () => {
    const admin = await registerOrganization("Retention policy");
    const t = admin.access_token;
    expect(await get(admin, "/v1/privacy/retention")).toEqual({
      events_days: 400,
      webhook_deliveries_days: 30,
      audit_payloads_days: 400,
      default: true,
      updated_by: null,
      updated_at: null,
    });
    const policy = { events_days: 90, webhook_deliveries_days: 7, audit_payloads_days: 30 };
    const res = await put(t, policy);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json<any>()).toMatchObject({ ...policy, default: false, updated_by: admin.user_id });
    expect(await get(admin, "/v1/privacy/retention")).toMatchObject(policy);
    for (const bad of [
      { ...policy, audit_payloads_days: 91 },
      { ...policy, events_days: 29 },
      { ...policy, events_days: 3651 },
      { ...policy, webhook_deliveries_days: 0 },
      { ...policy, webhook_deliveries_days: 1.5 },
      { ...policy, extra: 1 },
      { events_days: 90, webhook_deliveries_days: 7 },
    ]) {
      await expectProblem(await put(t, bad), 422);
    }
    const editor = await userWith(t, { "*": ["create", "read", "update", "delete"] });
    await expectProblem(await call("/v1/privacy/retention", bearer(editor)), 403);
    await expectProblem(await put(editor, policy), 403);
    const officer = await userWith(t, { privacy: ["read"] });
    expect(await get(officer, "/v1/privacy/retention")).toMatchObject(policy);
    await expectProblem(await put(officer, policy), 403);
    // Another organization still has the defaults.
    expect((await get((await registerOrganization("Retention other")).access_token, "/v1/privacy/retention")).default).toBe(true);
  });

  it("the daily job removes old events, redacts old audit payloads and deletes old finished deliveries, a few rows per run, and the chain verifies", async () => {
    const admin = await settledOrganization("Retention job");
    const bystander = await settledOrganization("Retention bystander");
    const org = admin.organization_id;
    // The policy first, and its own event recorded (seq 3), so nothing lands in the chain while the job runs.
    const res = await put(admin.access_token, { events_days: 90, webhook_deliveries_days: 7, audit_payloads_days: 30 });
    expect(res.status).toBe(200);
    for (let i = 0; (await count("SELECT count(*) AS n FROM audit_entries WHERE organization_id = ?1", org)) < 3; i++) {
      if (i > 200) throw new Error("the policy's event never reached the audit trail");
      await new Promise((r) => setTimeout(r, 100));
    }
    await agedChain(org);
    await agedChain(bystander.organization_id);
    await deliveries(org, 10, ["delivered", "dead_lettered", "cancelled", "retrying"]);
    await deliveries(bystander.organization_id, 10, ["delivered"]);

    // Run 1 (3 rows per kind): seqs 1-3 removed, 4-6 redacted, 3 finished deliveries deleted with their attempts.
    await dailyRun(3);
    let kept = await entries(org);
    expect(kept.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(kept.filter((e) => e.redacted_at).map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(await count("SELECT count(*) AS n FROM webhook_deliveries WHERE organization_id = ?1", org)).toBe(1);
    expect(
      await count(
        "SELECT count(*) AS n FROM webhook_delivery_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE organization_id = ?1)",
        org,
      ),
    ).toBe(1);
    // Run 2 resumes: seq 4 (the last past 90 days) removed, 7-8 redacted; 9-12 are recent.
    await dailyRun(3);
    kept = await entries(org);
    expect(kept.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(kept.filter((e) => e.redacted_at).map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(kept.filter((e) => e.redacted_at).every((e) => e.data === '{"redacted":true}')).toBe(true);
    expect(kept.filter((e) => !e.redacted_at).every((e) => e.data.includes("@example.com"))).toBe(true);
    // The events table holds the same: old events gone, the redacted ones' payloads too.
    const listed = (await get(admin, "/v1/events?limit=100")).data as PlatformEvent[];
    expect(listed).toHaveLength(9);
    expect(listed.filter((e) => JSON.stringify(e.data).includes("@example.com"))).toHaveLength(5);
    // Nothing is left to do; the pending delivery stays (it is still being sent).
    await dailyRun(3);
    expect((await entries(org)).map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(await count("SELECT count(*) AS n FROM webhook_deliveries WHERE organization_id = ?1 AND status = 'retrying'", org)).toBe(1);

    // The chain verifies from its anchor, and still catches a changed payload.
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: true, complete: true, from_seq: 5, checked: 9, pruned_through_seq: 4 });
    await env.DB.prepare("UPDATE audit_entries SET data = '{\"n\":1}' WHERE organization_id = ?1 AND seq = 10").bind(org).run();
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: false, broken: { seq: 10, reason: "data_mismatch" } });

    // The organization without a policy has the defaults (400 days, 30 for deliveries): nothing of it was old enough.
    const theirs = await entries(bystander.organization_id);
    expect(theirs).toHaveLength(12);
    expect(theirs.every((e) => !e.redacted_at)).toBe(true);
    expect(await count("SELECT count(*) AS n FROM webhook_deliveries WHERE organization_id = ?1", bystander.organization_id)).toBe(1);
  });
});
