import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildEvent, type PlatformEvent } from "@buildly/shared";
import { recordEvents } from "../src/events";
import { canonicalContent, REDACTED_DATA, sha256Hex, type AuditEntry } from "../src/events/audit";
import { redactPage, sealLegacyChain } from "../src/events/redact";
import { bearer, call, settledOrganization, type Account } from "./helpers";

const verify = async (a: Account) => (await call("/v1/audit/verify", bearer(a.access_token))).json<any>();

function event(org: string, subject: string, data: Record<string, unknown>): PlatformEvent {
  return buildEvent(
    { source: "/buildly/crm", actortype: "user", actorid: crypto.randomUUID(), requestid: crypto.randomUUID() },
    { type: "crm.contact.updated", subject, organizationid: org, data },
  );
}

const rows = async (org: string) =>
  (await env.DB.prepare("SELECT * FROM audit_entries WHERE organization_id = ?1 ORDER BY seq").bind(org).all<AuditEntry>()).results;

/** Rewrites an organization's chain as entries written before migration 0011 are: hash over the payload, no data_hash. */
async function makeLegacy(org: string) {
  let prev = "0".repeat(64);
  for (const e of await rows(org)) {
    const hash = await sha256Hex(canonicalContent({ ...e, data_hash: null, prev_hash: prev }));
    await env.DB.prepare("UPDATE audit_entries SET data_hash = NULL, prev_hash = ?3, hash = ?4 WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, e.seq, prev, hash)
      .run();
    prev = hash;
  }
}

describe("the audit chain survives erasure (payload hashes in the chain)", () => {
  it("redacts the entries, events and deliveries about a person; verify passes; any other change is still detected", async () => {
    // Its own first entries (registration, sign-in) come first: the test's are at base + 1 to base + 4.
    const admin = await settledOrganization("Redact");
    const { organization_id: org, base } = admin;
    const person = crypto.randomUUID();
    const email = `grace.${crypto.randomUUID().slice(0, 8)}@navy.example`;
    await recordEvents(env, [
      event(org, crypto.randomUUID(), { n: 1 }),
      event(org, person, { email, first_name: "Grace" }),
      event(org, crypto.randomUUID(), { attendees: [{ email: email.toUpperCase(), name: "Grace" }] }),
      event(org, crypto.randomUUID(), { n: 4 }),
    ]);
    const before = await rows(org);
    expect(before.every((e) => e.data_hash !== null)).toBe(true);
    expect(await verify(admin)).toMatchObject({ intact: true, checked: base + 4 });

    expect(await redactPage(env.DB, org, { subjects: [person], needles: [email], actors: [] }, 1)).toEqual({ redacted: 2, next: null });
    const after = await rows(org);
    expect(after.slice(base).map((e) => e.data === REDACTED_DATA)).toEqual([false, true, true, false]);
    expect(after.map((e) => e.hash)).toEqual(before.map((e) => e.hash));
    const events = await env.DB.prepare("SELECT event FROM events WHERE organization_id = ?1").bind(org).all<{ event: string }>();
    expect(events.results.filter((r) => r.event.toLowerCase().includes(email))).toEqual([]);
    expect(await verify(admin)).toMatchObject({ intact: true, checked: base + 4, broken: null });

    // Anything else changed is still detected: an unredacted payload, a redacted one, the chained columns.
    const tamper = async (sql: string, seq: number, value: unknown, reason: string) => {
      const row = after.find((e) => e.seq === seq)!;
      await env.DB.prepare(sql).bind(org, seq, value).run();
      expect((await verify(admin)).broken).toMatchObject({ seq, reason });
      await env.DB.prepare("UPDATE audit_entries SET data = ?3, subject = ?4, redacted_at = ?5 WHERE organization_id = ?1 AND seq = ?2")
        .bind(org, seq, row.data, row.subject, row.redacted_at)
        .run();
      expect((await verify(admin)).intact).toBe(true);
    };
    await tamper("UPDATE audit_entries SET data = ?3 WHERE organization_id = ?1 AND seq = ?2", base + 4, '{"n":5}', "data_mismatch");
    await tamper("UPDATE audit_entries SET data = ?3 WHERE organization_id = ?1 AND seq = ?2", base + 2, '{"redacted":false}', "data_mismatch");
    await tamper("UPDATE audit_entries SET subject = ?3 WHERE organization_id = ?1 AND seq = ?2", base + 2, crypto.randomUUID(), "hash_mismatch");
    await tamper("UPDATE audit_entries SET redacted_at = ?3 WHERE organization_id = ?1 AND seq = ?2", base + 1, "2026-01-01T00:00:00Z", "data_mismatch");
  });

  it("migrates entries from before payload hashing: they verify the old way, are re-sealed before the first redaction, and a broken legacy chain is refused", async () => {
    const admin = await settledOrganization("Legacy");
    const { organization_id: org, base } = admin;
    const own = (v: boolean) => Array<boolean>(base).fill(v);
    const person = crypto.randomUUID();
    await recordEvents(env, [
      event(org, person, { first_name: "Grace" }),
      event(org, crypto.randomUUID(), { n: 2 }),
      event(org, crypto.randomUUID(), { n: 3 }),
    ]);
    await makeLegacy(org);
    const legacy = await rows(org);
    expect(legacy.every((e) => e.data_hash === null)).toBe(true);
    expect(await verify(admin)).toMatchObject({ intact: true, checked: base + 3 });
    // A legacy entry's payload is still covered by its hash.
    await env.DB.prepare("UPDATE audit_entries SET data = '{}' WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, base + 2)
      .run();
    expect((await verify(admin)).broken).toMatchObject({ seq: base + 2, reason: "hash_mismatch" });
    await expect(sealLegacyChain(env.DB, org)).rejects.toThrow(`broken at seq ${base + 2};`);
    await env.DB.prepare("UPDATE audit_entries SET data = ?3 WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, base + 2, legacy[base + 1]!.data)
      .run();

    // New entries chain onto the legacy head in the new form; the mixed chain verifies.
    await recordEvents(env, [event(org, person, { last_name: "Hopper" })]);
    expect((await rows(org)).map((e) => e.data_hash === null)).toEqual([...own(true), true, true, true, false]);
    expect(await verify(admin)).toMatchObject({ intact: true, checked: base + 4 });

    expect(await redactPage(env.DB, org, { subjects: [person], needles: [], actors: [] }, 1)).toEqual({ redacted: 2, next: null });
    const sealed = await rows(org);
    expect(sealed.every((e) => e.data_hash !== null)).toBe(true);
    expect(sealed.map((e) => e.redacted_at !== null)).toEqual([...own(false), true, false, false, true]);
    expect(await env.DB.prepare("SELECT through_seq, legacy_head_hash FROM audit_chain_seals WHERE organization_id = ?1").bind(org).all()).toMatchObject({
      results: [{ through_seq: base + 4, legacy_head_hash: legacy.length ? (await rows(org)).length && expect.any(String) : "" }],
    });
    expect(await verify(admin)).toMatchObject({ intact: true, checked: base + 4 });
    // Appends after the seal chain onto the re-sealed head.
    await recordEvents(env, [event(org, crypto.randomUUID(), { n: 6 })]);
    expect(await verify(admin)).toMatchObject({ intact: true, checked: base + 5 });
    await env.DB.prepare("UPDATE audit_entries SET event_id = ?3 WHERE organization_id = ?1 AND seq = ?2")
      .bind(org, base + 3, crypto.randomUUID())
      .run();
    expect((await verify(admin)).broken).toMatchObject({ seq: base + 3, reason: "hash_mismatch" });
  });
});
