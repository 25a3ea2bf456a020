import { isUniqueViolation, type PlatformEvent, sha256Hex } from "@buildly/shared";

/**
 * The audit trail: append-only, one hash chain per organization. Each entry's hash is SHA-256
 * over its canonical content (canonicalContent) and the previous entry's hash; the first entry
 * of an organization links to GENESIS_HASH. Changing, removing or reordering a stored entry
 * breaks the chain at that entry, which verifyChain reports.
 *
 * The chain commits to a hash of each entry's payload (data_hash), not to the payload itself
 * (issue 23): erasure may replace a payload with REDACTED_DATA (redactAuditEntries) and the chain
 * still verifies, while a payload changed in any other way no longer matches its data_hash.
 * Entries written before migration 0011 committed to the payload itself (data_hash NULL, checked
 * the old way); before the first redaction in an organization its chain is re-sealed once in the
 * new form (sealLegacyChain), after checking it whole the old way.
 *
 * Appends never fork the chain: the primary key (organization_id, seq) admits one entry per
 * position, so of two consumers that read the same head only one batch commits; the other
 * fails on the key as a whole (its events rows roll back with it) and retries on the new head.
 */
export const GENESIS_HASH = "0".repeat(64);

export interface AuditEntry {
  organization_id: string;
  seq: number;
  event_id: string;
  time: string;
  service: string;
  type: string;
  subject: string;
  actor_type: string;
  actor_id: string | null;
  request_id: string | null;
  /** Canonical JSON (object keys sorted at every level), or REDACTED_DATA after erasure. */
  data: string;
  /** SHA-256 of `data` as written; what the hash covers. NULL: an entry from before migration 0011. */
  data_hash: string | null;
  /** Set when erasure replaced the payload. */
  redacted_at: string | null;
  prev_hash: string;
  hash: string;
  recorded_at: string;
}

/** JSON with object keys sorted at every level, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What a redacted entry's payload becomes. */
export const REDACTED_DATA = '{"redacted":true}';

type Content = Omit<AuditEntry, "hash" | "recorded_at" | "data_hash" | "redacted_at"> & { data_hash?: string | null };

/** The columns every version of the chain commits to, in order; the payload's place is the caller's. */
function chained(e: Content, payload: string | null | undefined): unknown[] {
  return [e.organization_id, e.seq, e.event_id, e.time, e.service, e.type, e.subject, e.actor_type, e.actor_id, e.request_id, payload, e.prev_hash];
}

/** What an entry's hash covers: every column but the payload (its hash stands in), the hash itself, recorded_at and redacted_at (bookkeeping). */
export function canonicalContent(e: Content): string {
  // Before migration 0011 the hash covered the payload itself (no "v2" marker, no data_hash).
  return e.data_hash ? JSON.stringify(["v2", ...chained(e, e.data_hash)]) : JSON.stringify(chained(e, e.data));
}

export { sha256Hex };

/** The service an event belongs to: its type's first part (crm, documents, appointments, identity). */
export function serviceOf(type: string): string {
  return type.split(".")[0]!;
}

export async function auditEntryFor(event: PlatformEvent, seq: number, prevHash: string, recordedAt: string): Promise<AuditEntry> {
  const base = {
    organization_id: event.organizationid,
    seq,
    event_id: event.id,
    time: event.time,
    service: serviceOf(event.type),
    type: event.type,
    subject: event.subject,
    actor_type: event.actortype,
    actor_id: event.actorid,
    request_id: event.requestid,
    data: canonicalJson(event.data),
    data_hash: "",
    redacted_at: null,
    prev_hash: prevHash,
  };
  base.data_hash = await sha256Hex(base.data);
  return { ...base, hash: await sha256Hex(canonicalContent(base)), recorded_at: recordedAt };
}

/** How often an append retries after losing the race for the head to another consumer. */
export const APPEND_ATTEMPTS = 12;
/** Events appended per D1 batch (two statements each). */
const APPEND_CHUNK = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Records `events` (all of one organization) once each: in one D1 batch per chunk, the events
 * row (the dedupe: its primary key is the event id) and the audit entry that chains onto the
 * head. Returns the events that were new. An event already recorded is skipped; one recorded
 * by a concurrent consumer in the meantime makes the batch fail and the retry skip it.
 */
export async function appendEvents(d1: D1Database, organizationId: string, events: PlatformEvent[]): Promise<PlatformEvent[]> {
  const fresh: PlatformEvent[] = [];
  for (let i = 0; i < events.length; i += APPEND_CHUNK) fresh.push(...(await appendChunk(d1, organizationId, events.slice(i, i + APPEND_CHUNK))));
  return fresh;
}

async function appendChunk(d1: D1Database, organizationId: string, events: PlatformEvent[]): Promise<PlatformEvent[]> {
  for (let attempt = 1; ; attempt++) {
    const [known, head] = await d1.batch<{ id?: string; seq?: number; hash?: string }>([
      d1.prepare("SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(events.map((e) => e.id))),
      d1.prepare("SELECT seq, hash FROM audit_entries WHERE organization_id = ?1 ORDER BY seq DESC LIMIT 1").bind(organizationId),
    ]);
    const seen = new Set(known!.results.map((r) => r.id));
    const todo = events.filter((e) => !seen.has(e.id));
    if (todo.length === 0) return [];
    let seq = head!.results[0]?.seq ?? 0;
    let prev = head!.results[0]?.hash ?? GENESIS_HASH;
    const recordedAt = new Date().toISOString();
    const statements: D1PreparedStatement[] = [];
    let first = true;
    for (const e of todo) {
      const entry = await auditEntryFor(e, ++seq, prev, recordedAt);
      // The first entry links to the head as read: if the head changed since (another consumer, or
      // sealLegacyChain re-hashing it), prev_hash binds NULL and the batch fails, then retries.
      const prevGuard = first
        ? "(SELECT ?12 WHERE ?2 = 1 OR EXISTS (SELECT 1 FROM audit_entries WHERE organization_id = ?1 AND seq = ?2 - 1 AND hash = ?12))"
        : "?12";
      first = false;
      prev = entry.hash;
      statements.push(
        d1
          .prepare("INSERT INTO events (id, organization_id, type, subject, time, event, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
          .bind(e.id, e.organizationid, e.type, e.subject, e.time, JSON.stringify(e), recordedAt),
        d1
          .prepare(
            `INSERT INTO audit_entries (organization_id, seq, event_id, time, service, type, subject, actor_type, actor_id, request_id, data, prev_hash, hash, recorded_at, data_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ${prevGuard}, ?13, ?14, ?15)`,
          )
          .bind(
            entry.organization_id,
            entry.seq,
            entry.event_id,
            entry.time,
            entry.service,
            entry.type,
            entry.subject,
            entry.actor_type,
            entry.actor_id,
            entry.request_id,
            entry.data,
            entry.prev_hash,
            entry.hash,
            entry.recorded_at,
            entry.data_hash,
          ),
      );
    }
    try {
      await d1.batch(statements);
      return todo;
    } catch (err) {
      if (!(isUniqueViolation(err) || headMoved(err)) || attempt >= APPEND_ATTEMPTS) throw err;
      // Another consumer took the head (or recorded one of these events): re-read and chain again.
      await sleep(Math.random() * 10 * attempt);
    }
  }
}

const headMoved = (err: unknown) => /NOT NULL constraint failed: audit_entries\.prev_hash/.test(String((err as Error)?.message ?? err));

/** The most entries one GET /v1/audit/verify re-walks; a longer chain is walked page by page. */
export const VERIFY_MAX_ENTRIES = 1000;

export type ChainBreak = { seq: number; event_id: string | null; reason: "hash_mismatch" | "data_mismatch" | "prev_hash_mismatch" | "missing_entry" };

/**
 * Whether a stored entry is what was chained: its hash matches its content; its payload matches
 * the payload hash the chain holds, or is exactly REDACTED_DATA with redacted_at set.
 */
export async function entryBreak(e: AuditEntry): Promise<ChainBreak["reason"] | null> {
  const { hash, recorded_at: _r, redacted_at, ...content } = e;
  if ((await sha256Hex(canonicalContent(content))) !== hash) return "hash_mismatch";
  if (e.data_hash === null) return redacted_at === null ? null : "data_mismatch";
  if (redacted_at !== null) return e.data === REDACTED_DATA ? null : "data_mismatch";
  return (await sha256Hex(e.data)) === e.data_hash ? null : "data_mismatch";
}

export interface VerifyReport {
  intact: boolean;
  from_seq: number;
  to_seq: number | null;
  checked: number;
  head_seq: number;
  broken: ChainBreak | null;
  next_from_seq: number | null;
  /** Entries up to this seq were removed by retention (null: none). */
  pruned_through_seq: number | null;
}

/**
 * Re-walks the organization's chain from `fromSeq`, at most `limit` entries: each entry's hash
 * must match its content, link to the entry before it and follow it without a gap. The entry
 * before `fromSeq` is taken as given (it was checked by the previous page).
 */
export async function verifyChain(d1: D1Database, organizationId: string, requestedFrom: number, limit: number): Promise<VerifyReport> {
  // Entries up to the anchor were removed by retention (retention.ts): the walk starts after it,
  // and the first kept entry must link to the anchor's hash.
  const anchor = await d1.prepare("SELECT seq, hash FROM audit_anchors WHERE organization_id = ?1").bind(organizationId).first<{ seq: number; hash: string }>();
  const fromSeq = anchor && requestedFrom <= anchor.seq ? anchor.seq + 1 : requestedFrom;
  const [prevRows, rows, headRows] = await d1.batch<Record<string, unknown>>([
    d1.prepare("SELECT seq, hash FROM audit_entries WHERE organization_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1").bind(organizationId, fromSeq),
    d1.prepare("SELECT * FROM audit_entries WHERE organization_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3").bind(organizationId, fromSeq, limit),
    d1.prepare("SELECT max(seq) AS head FROM audit_entries WHERE organization_id = ?1").bind(organizationId),
  ]);
  const headSeq = Number(headRows!.results[0]?.head ?? 0);
  const before = prevRows!.results[0] as { seq: number; hash: string } | undefined;
  const entries = rows!.results as unknown as AuditEntry[];
  let expectedSeq = fromSeq;
  let prevHash: string | undefined =
    fromSeq <= 1 ? GENESIS_HASH : before?.seq === fromSeq - 1 ? before.hash : anchor?.seq === fromSeq - 1 ? anchor.hash : undefined;
  let broken: ChainBreak | null = null;
  if (fromSeq > 1 && prevHash === undefined && fromSeq <= headSeq) broken = { seq: fromSeq - 1, event_id: null, reason: "missing_entry" };
  let checked = 0;
  for (const e of entries) {
    if (broken) break;
    if (e.seq !== expectedSeq) {
      broken = { seq: expectedSeq, event_id: null, reason: "missing_entry" };
      break;
    }
    checked++;
    const reason = await entryBreak(e);
    if (reason) {
      broken = { seq: e.seq, event_id: e.event_id, reason };
      break;
    }
    if (e.prev_hash !== prevHash) {
      broken = { seq: e.seq, event_id: e.event_id, reason: "prev_hash_mismatch" };
      break;
    }
    prevHash = e.hash;
    expectedSeq++;
  }
  const last = broken ? null : (entries[entries.length - 1]?.seq ?? null);
  const next = !broken && last !== null && last < headSeq ? last + 1 : null;
  return {
    intact: broken === null,
    from_seq: fromSeq,
    to_seq: last,
    checked,
    head_seq: Math.max(headSeq, anchor?.seq ?? 0),
    broken,
    next_from_seq: next,
    pruned_through_seq: anchor?.seq ?? null,
  };
}
