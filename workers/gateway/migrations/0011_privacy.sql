-- Privacy (issue 23, src/privacy/, docs/privacy.md).

-- The audit chain commits to a hash of each payload (src/events/audit.ts), so erasure can redact
-- a payload and the chain still verifies. Entries written before this migration keep data_hash
-- NULL and verify the old way (their hash covers the payload) until their organization's chain is
-- re-sealed before its first redaction; audit_chain_seals records the old head each seal replaced.
ALTER TABLE audit_entries ADD COLUMN data_hash TEXT;
ALTER TABLE audit_entries ADD COLUMN redacted_at TEXT;
CREATE INDEX audit_entries_org_subject ON audit_entries (organization_id, subject, seq);
CREATE TABLE audit_chain_seals (
  organization_id TEXT NOT NULL,
  through_seq INTEGER NOT NULL,
  legacy_head_hash TEXT NOT NULL,
  sealed_head_hash TEXT NOT NULL,
  sealed_at TEXT NOT NULL,
  PRIMARY KEY (organization_id, through_seq)
);

-- Subject requests (access, erasure): the row is the request's state; the PrivacyRequest Durable
-- Object (one per request, alarms) runs it step by step and records each step in `steps`.
CREATE TABLE privacy_requests (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  type TEXT NOT NULL CHECK (type IN ('access', 'erasure')),
  dry_run INTEGER NOT NULL DEFAULT 0,
  -- pending | running | completed | failed
  status TEXT NOT NULL,
  -- JSON: what the request asked (the subject is erased from it once an erasure completes).
  subject TEXT NOT NULL,
  -- Where the run is (src/privacy/runner.ts): resolve, service:<name>, joins, audit:<seq>, done.
  phase TEXT NOT NULL DEFAULT 'resolve',
  -- JSON: the person as resolved (emails, contact ids, user ids, linked records); dropped on completion.
  resolved TEXT,
  -- JSON: [{ service, model, action, ids, held, ... }] per step done.
  steps TEXT NOT NULL DEFAULT '[]',
  -- JSON: what remains when failed, { service: problem }.
  error TEXT,
  requested_by TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  completed_at TEXT
);
CREATE INDEX privacy_requests_org_created ON privacy_requests (organization_id, created_at, id);

-- Legal holds: a record under hold is kept by erasure (and reported as held).
CREATE TABLE privacy_legal_holds (
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  service TEXT NOT NULL,
  model TEXT NOT NULL,
  record_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (organization_id, service, model, record_id)
);
