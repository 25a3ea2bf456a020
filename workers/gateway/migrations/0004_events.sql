-- Events and the audit trail (src/events/, README "Events and audit trail").

-- The transactional outbox of the gateway's own (identity) events: the same table as in every
-- logic service (packages/shared/src/outbox.ts). Rows go in with the change they describe.
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  subject TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  request_id TEXT,
  time TEXT NOT NULL,
  data TEXT NOT NULL,
  claimed_at TEXT,
  relayed_at TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE relayed_at IS NULL;
CREATE INDEX outbox_relayed ON outbox (relayed_at) WHERE relayed_at IS NOT NULL;

-- Every event the consumer has recorded, once: the primary key on the event id is the dedupe.
-- `event` is the CloudEvents JSON as received; the columns are what GET /v1/events filters on.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT NOT NULL,
  time TEXT NOT NULL,
  event TEXT NOT NULL,
  recorded_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_org_time ON events (organization_id, time, id);
CREATE INDEX events_org_type_time ON events (organization_id, type, time, id);
CREATE INDEX events_org_subject_time ON events (organization_id, subject, time, id);

-- The audit trail: append-only, one hash chain per organization. hash = SHA-256 over the entry's
-- canonical content and prev_hash (src/events/audit.ts); the primary key (organization_id, seq)
-- is what keeps concurrent appends from forking the chain (the loser retries on the new head).
CREATE TABLE audit_entries (
  organization_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  time TEXT NOT NULL,
  service TEXT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  request_id TEXT,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  PRIMARY KEY (organization_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX audit_entries_event ON audit_entries (organization_id, event_id);
CREATE INDEX audit_entries_org_actor ON audit_entries (organization_id, actor_id, seq);
CREATE INDEX audit_entries_org_type ON audit_entries (organization_id, type, seq);
CREATE INDEX audit_entries_org_service ON audit_entries (organization_id, service, seq);
CREATE INDEX audit_entries_org_time ON audit_entries (organization_id, time, seq);
