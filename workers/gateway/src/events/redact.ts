import { ApiError, nowIso } from "@buildly/shared";
import { type AuditEntry, REDACTED_DATA, canonicalContent, entryBreak, sha256Hex } from "./audit";

/*
 * Erasure's side of the events room (issue 23): payloads about a person are redacted in the audit
 * trail, the events table and webhook delivery logs; the chain still verifies (audit.ts).
 */

/** The most entries a legacy chain may hold to be re-sealed in one batch. */
export const SEAL_MAX_ENTRIES = 5_000;
/** Rows looked at per redaction page. */
export const REDACT_PAGE = 500;

/**
 * Re-seals an organization's chain in the payload-hash form when it still holds entries from
 * before migration 0011 (data_hash NULL): checks every kept entry the old way first (a broken
 * chain is refused, never re-sealed), then re-hashes the chain from its first kept entry to the
 * head in one D1 batch, guarded on the head it read (an append in between makes the batch fail;
 * the caller tries again). audit_chain_seals keeps the old head hash next to the new one.
 */
export async function sealLegacyChain(d1: D1Database, org: string): Promise<{ sealed: number }> {
  const legacy = await d1.prepare("SELECT 1 AS x FROM audit_entries WHERE organization_id = ?1 AND data_hash IS NULL LIMIT 1").bind(org).first();
  if (!legacy) return { sealed: 0 };
  const anchor = await d1.prepare("SELECT seq, hash FROM audit_anchors WHERE organization_id = ?1").bind(org).first<{ seq: number; hash: string }>();
  const { results } = await d1
    .prepare("SELECT * FROM audit_entries WHERE organization_id = ?1 ORDER BY seq LIMIT ?2")
    .bind(org, SEAL_MAX_ENTRIES + 1)
    .all<AuditEntry>();
  if (results.length > SEAL_MAX_ENTRIES) throw new ApiError(409, `The audit chain holds more than ${SEAL_MAX_ENTRIES} entries from before payload hashing.`);
  let prev = anchor?.hash ?? "0".repeat(64);
  let expected = (anchor?.seq ?? 0) + 1;
  for (const e of results) {
    if (e.seq !== expected || e.prev_hash !== prev || (await entryBreak(e))) {
      throw new ApiError(409, `The audit chain is broken at seq ${e.seq}; it is not re-sealed (GET /v1/audit/verify).`);
    }
    prev = e.hash;
    expected++;
  }
  const head = results[results.length - 1]!;
  const statements: D1PreparedStatement[] = [];
  let sealedPrev = anchor?.hash ?? "0".repeat(64);
  for (const e of results) {
    const data_hash = e.data_hash ?? (await sha256Hex(e.data));
    const hash = await sha256Hex(canonicalContent({ ...e, data_hash, prev_hash: sealedPrev }));
    statements.push(
      d1
        .prepare("UPDATE audit_entries SET data_hash = ?3, prev_hash = ?4, hash = ?5 WHERE organization_id = ?1 AND seq = ?2")
        .bind(org, e.seq, data_hash, sealedPrev, hash),
    );
    sealedPrev = hash;
  }
  // First: NULL through_seq (the batch fails) unless the head is still the one read.
  const guard = d1
    .prepare(
      `INSERT INTO audit_chain_seals (organization_id, through_seq, legacy_head_hash, sealed_head_hash, sealed_at)
       VALUES (?1, (SELECT seq FROM audit_entries WHERE organization_id = ?1 AND seq = ?2 AND hash = ?3
                     AND NOT EXISTS (SELECT 1 FROM audit_entries WHERE organization_id = ?1 AND seq > ?2)), ?3, ?4, ?5)`,
    )
    .bind(org, head.seq, head.hash, sealedPrev, nowIso());
  await d1.batch([guard, ...statements]);
  return { sealed: results.length };
}

export interface RedactScope {
  /** Record ids: entries and events whose subject is one of these. */
  subjects: string[];
  /** Lower-case strings (emails): entries and events whose payload holds one. */
  needles: string[];
  /** User ids: entries whose actor is one of these (their payloads are redacted; the actor id stays). */
  actors: string[];
}

const matches = (column: string, subjectCol: string) =>
  `(${subjectCol} IN (SELECT value FROM json_each(?2)) OR EXISTS (SELECT 1 FROM json_each(?3) AS n WHERE instr(lower(${column}), n.value) > 0))`;

/**
 * One page of redaction: the audit entries with seq in [fromSeq, fromSeq + REDACT_PAGE) about the
 * person get REDACTED_DATA, as do the events and webhook deliveries of the same events. Answers the
 * seq to continue from, or null at the head. A legacy chain is re-sealed first.
 */
export async function redactPage(d1: D1Database, org: string, scope: RedactScope, fromSeq: number): Promise<{ redacted: number; next: number | null }> {
  await sealLegacyChain(d1, org);
  const subjects = JSON.stringify(scope.subjects);
  const needles = JSON.stringify(scope.needles.map((n) => n.toLowerCase()).filter((n) => n.length >= 3));
  const actors = JSON.stringify(scope.actors);
  const upto = fromSeq + REDACT_PAGE;
  const { results } = await d1
    .prepare(
      `SELECT seq, event_id FROM audit_entries WHERE organization_id = ?1 AND seq >= ?5 AND seq < ?6 AND redacted_at IS NULL
         AND (${matches("data", "subject")} OR actor_id IN (SELECT value FROM json_each(?4)))`,
    )
    .bind(org, subjects, needles, actors, fromSeq, upto)
    .all<{ seq: number; event_id: string }>();
  const head = await d1.prepare("SELECT max(seq) AS head FROM audit_entries WHERE organization_id = ?1").bind(org).first<{ head: number | null }>();
  await redactEntries(d1, org, results);
  return { redacted: results.length, next: head?.head != null && upto <= head.head ? upto : null };
}

/**
 * Replaces the payloads of these audit entries with REDACTED_DATA (the chain commits to their
 * hashes, so it still verifies), and the same events' payloads in the events table and webhook
 * delivery logs. The chain must be in the payload-hash form (sealLegacyChain first).
 */
export async function redactEntries(d1: D1Database, org: string, entries: { seq: number; event_id: string }[]): Promise<void> {
  if (entries.length) {
    const seqs = JSON.stringify(entries.map((r) => r.seq));
    const events = JSON.stringify(entries.map((r) => r.event_id));
    const now = nowIso();
    await d1.batch([
      d1
        .prepare(
          "UPDATE audit_entries SET data = ?3, redacted_at = ?4 WHERE organization_id = ?1 AND seq IN (SELECT value FROM json_each(?2)) AND data_hash IS NOT NULL",
        )
        .bind(org, seqs, REDACTED_DATA, now),
      d1
        .prepare("UPDATE events SET event = json_set(event, '$.data', json(?3)) WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
        .bind(org, events, REDACTED_DATA),
      d1
        .prepare(
          "UPDATE webhook_deliveries SET payload = json_set(payload, '$.data', json(?3)) WHERE organization_id = ?1 AND event_id IN (SELECT value FROM json_each(?2))",
        )
        .bind(org, events, REDACTED_DATA),
    ]);
  }
}
