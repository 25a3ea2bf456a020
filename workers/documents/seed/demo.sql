-- Demo data for local development. Fixed ids and INSERT OR IGNORE: running it twice changes nothing.
-- The body of each file is put into local R2 by scripts/seed.sh from this folder.
INSERT OR IGNORE INTO files (id, organization_id, name, content_type, size, sha256, version, tags, object_key, created_by, created_at, updated_at) VALUES
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01', '00000000-0000-4000-8000-000000000001', 'statement-of-work.txt', 'text/plain; charset=utf-8', 91, 'c8e81fc32018d3647d4da38cd426f38e243f92ec7cf5183018ec429d2a20241e', 1, '["contract"]',
   '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01/v1', NULL, '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z');
