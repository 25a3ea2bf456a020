-- Privacy, part two (issue 23, src/privacy/, docs/privacy.md): legal holds with an API, consent
-- records, retention policies per organization.

-- Legal holds get an id, who placed them, and a release that keeps the hold's history. At most
-- one active (unreleased) hold per record. No API existed before, so no rows are expected; any
-- are carried over with a fresh id.
CREATE TABLE privacy_legal_holds_v2 (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  service TEXT NOT NULL,
  model TEXT NOT NULL,
  record_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT,
  created_at TEXT NOT NULL,
  released_by TEXT,
  released_at TEXT,
  release_reason TEXT
);
INSERT INTO privacy_legal_holds_v2 (id, organization_id, service, model, record_id, reason, created_at)
  SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
         organization_id, service, model, record_id, reason, created_at
  FROM privacy_legal_holds;
DROP TABLE privacy_legal_holds;
ALTER TABLE privacy_legal_holds_v2 RENAME TO privacy_legal_holds;
CREATE UNIQUE INDEX privacy_legal_holds_active ON privacy_legal_holds (organization_id, service, model, record_id) WHERE released_at IS NULL;
CREATE INDEX privacy_legal_holds_org_created ON privacy_legal_holds (organization_id, created_at, id);

-- Consent records: one row per given or withdrawn consent of a CRM contact for a purpose. The
-- history is append-only (the triggers refuse changes and deletes): a contact's current consent
-- for a purpose is its latest record (by `at`, then `recorded_at`, then id).
CREATE TABLE privacy_consents (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  contact_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('given', 'withdrawn')),
  -- Where the consent was given or withdrawn (a short token such as web_form; never free text).
  source TEXT NOT NULL,
  -- When the person gave or withdrew it (may be earlier than recorded_at, never later).
  at TEXT NOT NULL,
  recorded_by TEXT,
  recorded_at TEXT NOT NULL
);
CREATE INDEX privacy_consents_contact ON privacy_consents (organization_id, contact_id, purpose, at, recorded_at, id);
CREATE TRIGGER privacy_consents_no_update BEFORE UPDATE ON privacy_consents
  BEGIN SELECT RAISE(ABORT, 'privacy_consents is append-only'); END;
CREATE TRIGGER privacy_consents_no_delete BEFORE DELETE ON privacy_consents
  BEGIN SELECT RAISE(ABORT, 'privacy_consents is append-only'); END;

-- Retention policy per organization (src/privacy/retention.ts): days each kind of data is kept.
-- No row: the platform's defaults. The daily scheduled job enforces it in bounded batches.
CREATE TABLE privacy_retention_policies (
  organization_id TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id),
  events_days INTEGER NOT NULL,
  webhook_deliveries_days INTEGER NOT NULL,
  audit_payloads_days INTEGER NOT NULL,
  updated_by TEXT,
  updated_at TEXT NOT NULL
);
-- What the retention job looks for: finished webhook deliveries by age, audit payloads not yet redacted.
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries (organization_id, created_at);
CREATE INDEX audit_entries_unredacted ON audit_entries (organization_id, seq) WHERE redacted_at IS NULL;
