// The cap on events kept per organization (src/events/retention.ts) on the real D1: the oldest
// events and audit entries beyond it go, the kept chain still verifies from the anchor, and a
// forged anchor or a removed kept entry is still caught.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildEvent, type PlatformEvent } from "@buildly/shared";
import { recordEvents } from "../src/events";
import { pruneEvents } from "../src/events/retention";
import { bearer, call, settledOrganization, type Account } from "./helpers";

const get = async (a: Account, path: string) => {
  const res = await call(path, bearer(a.access_token));
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return res.json<any>();
};

function events(org: string, n: number): PlatformEvent[] {
  return Array.from({ length: n }, (_, i) =>
    buildEvent(
      { source: "/buildly/crm", actortype: "user", actorid: crypto.randomUUID(), requestid: crypto.randomUUID() },
      { type: "crm.contact.updated", subject: crypto.randomUUID(), organizationid: org, data: { n: i }, time: new Date(Date.now() + i).toISOString() },
    ),
  );
}

/** The organization's audit entries as D1 holds them (seqs, oldest first). */
async function seqs(org: string): Promise<number[]> {
  const { results } = await env.DB.prepare("SELECT seq FROM audit_entries WHERE organization_id = ?1 ORDER BY seq").bind(org).all<{ seq: number }>();
  return results.map((r) => r.seq);
}

describe("events kept per organization", () => {
  it("keeps the newest, removes the rest with their events, and the kept chain verifies from the anchor", async () => {
    const admin = await settledOrganization("Retention");
    const org = admin.organization_id;
    await recordEvents(env, events(org, 12));
    const before = await seqs(org);
    expect(before).toHaveLength(14);
    const head = before.at(-1)!;

    const report = await pruneEvents(env.DB, 5);
    expect(report.removed).toBe(9);
    expect(await seqs(org)).toEqual([head - 4, head - 3, head - 2, head - 1, head]);
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM events WHERE organization_id = ?1").bind(org).first<{ n: number }>())!;
    expect(n).toBe(5);
    expect((await get(admin, "/v1/events?limit=100")).data).toHaveLength(5);

    const verified = await get(admin, "/v1/audit/verify");
    expect(verified).toMatchObject({
      intact: true,
      complete: true,
      from_seq: head - 4,
      checked: 5,
      head_seq: head,
      pruned_through_seq: head - 5,
      broken: null,
    });
    // Asking from a removed seq starts after the anchor.
    expect(await get(admin, "/v1/audit/verify?from_seq=2")).toMatchObject({ intact: true, from_seq: head - 4, checked: 5 });
    // Nothing more to do at the same cap; new events chain on after the kept ones.
    expect((await pruneEvents(env.DB, 5)).removed).toBe(0);
    await recordEvents(env, events(org, 3));
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: true, checked: 8, head_seq: head + 3 });

    // Still tamper-evident: a forged anchor, or the first kept entry removed.
    const anchor = (await env.DB.prepare("SELECT hash FROM audit_anchors WHERE organization_id = ?1").bind(org).first<{ hash: string }>())!;
    await env.DB.prepare("UPDATE audit_anchors SET hash = ?2 WHERE organization_id = ?1").bind(org, "f".repeat(64)).run();
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: false, broken: { seq: head - 4, reason: "prev_hash_mismatch" } });
    await env.DB.prepare("UPDATE audit_anchors SET hash = ?2 WHERE organization_id = ?1").bind(org, anchor.hash).run();
    await env.DB.prepare("DELETE FROM audit_entries WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, head - 4)
      .run();
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: false, broken: { seq: head - 4, reason: "missing_entry" } });
  });

  it("pruning while events are appended keeps one intact chain", async () => {
    const admin = await settledOrganization("Retention");
    const org = admin.organization_id;
    await recordEvents(env, events(org, 20));
    await Promise.all([pruneEvents(env.DB, 10), recordEvents(env, events(org, 10)), recordEvents(env, events(org, 10)), pruneEvents(env.DB, 10)]);
    await pruneEvents(env.DB, 10);
    const kept = await seqs(org);
    expect(kept).toHaveLength(10);
    expect(kept.at(-1)! - kept[0]!).toBe(9);
    expect(await get(admin, "/v1/audit/verify")).toMatchObject({ intact: true, complete: true, checked: 10, pruned_through_seq: kept[0]! - 1 });
  });
});
