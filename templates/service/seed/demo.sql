-- Demo data for local development, organization 00000000-0000-4000-8000-000000000001 (the demo
-- users' organization). Fixed ids and INSERT OR IGNORE: running it twice changes nothing.
-- The first item links to Ada Lovelace, a contact of the CRM's demo data.
INSERT OR IGNORE INTO items (id, organization_id, name, description, status, contact_id, tags, created_at, updated_at) VALUES
  ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-000000000001', 'First __TITLE__ item', 'A sample record of the __service__ service.', 'active', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', '["sample"]', '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z'),
  ('00000000-0000-4000-8000-00000000a002', '00000000-0000-4000-8000-000000000001', 'Second __TITLE__ item', NULL, 'archived', NULL, '[]', '2026-01-06T09:00:00.000Z', '2026-01-06T09:00:00.000Z');
