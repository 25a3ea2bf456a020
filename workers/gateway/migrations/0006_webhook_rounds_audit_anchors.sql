-- Webhook deliveries (src/webhooks/deliver.ts): one chain of attempts per delivery at a time.
-- A redelivery starts round n+1 (only while no round is under way, in one conditional UPDATE),
-- and each queue message names its round: a message of an older round is acknowledged unsent.
ALTER TABLE webhook_deliveries ADD COLUMN round INTEGER NOT NULL DEFAULT 0;

-- Events kept (src/events/retention.ts): an organization keeps its newest EVENTS_KEPT_PER_ORGANIZATION
-- events and audit entries; older ones are removed from the start of its chain, and the anchor
-- records the newest removed entry, whose hash the first kept entry links to, so the kept chain
-- still verifies from there (GET /v1/audit/verify names it pruned_through_seq).
CREATE TABLE audit_anchors (
  organization_id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  pruned_at TEXT NOT NULL
);
