-- Webhooks (src/webhooks/): an organization's subscriptions, what each one listens to, and every
-- delivery of an event to one of them with its attempts.
CREATE TABLE webhook_subscriptions (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  url TEXT NOT NULL,
  description TEXT,
  -- JSON array of the patterns, as the client sent them (webhook_patterns holds them for lookup).
  events TEXT NOT NULL,
  -- active | paused (by an admin) | disabled (by the platform, after failing deliveries; see disabled_reason)
  status TEXT NOT NULL,
  disabled_reason TEXT,
  -- The signing secret (whsec_...), AES-GCM sealed under a key derived from SIGNING_KEYS_SECRET.
  secret_sealed TEXT NOT NULL,
  -- After a rotation the previous secret still signs (a second v1 signature) until this time.
  previous_secret_sealed TEXT,
  previous_secret_expires_at TEXT,
  -- Deliveries that ended dead-lettered since the last successful one.
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (organization_id, created_at, id);

-- One row per (subscription, pattern): fan-out finds the subscriptions for an event type with one
-- indexed lookup of its few candidate patterns (exact, service.model.*, service.*, *).
CREATE TABLE webhook_patterns (
  organization_id TEXT NOT NULL,
  pattern TEXT NOT NULL,
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  PRIMARY KEY (organization_id, pattern, subscription_id)
);
CREATE INDEX webhook_patterns_subscription ON webhook_patterns (subscription_id);

-- One delivery per (subscription, event): the unique key makes fan-out idempotent.
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY NOT NULL,
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  organization_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  -- The CloudEvent JSON, exactly the body that is POSTed (and signed).
  payload TEXT NOT NULL,
  -- pending | retrying | delivered | dead_lettered (retries exhausted) | cancelled (subscription paused, disabled)
  status TEXT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  next_retry_at TEXT,
  last_response_status INTEGER,
  last_error TEXT,
  delivered_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Every attempt to deliver (append-only).
CREATE TABLE webhook_delivery_attempts (
  id TEXT PRIMARY KEY NOT NULL,
  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  -- The receiver's HTTP status, null when none came (timeout, refused target, network error).
  response_status INTEGER,
  succeeded INTEGER NOT NULL,
  error TEXT,
  -- When the next attempt is due, null when none will follow.
  next_retry_at TEXT
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, attempt);
