-- Webhook deliveries (src/webhooks/deliver.ts): one chain of attempts per delivery at a time.
-- A redelivery starts round n+1 (only while no round is under way, in one conditional UPDATE),
-- and each queue message names its round: a message of an older round is acknowledged unsent.
ALTER TABLE webhook_deliveries ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
