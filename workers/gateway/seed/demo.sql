-- Demo organization for local development. Fixed ids and INSERT OR IGNORE: running it twice
-- changes nothing. Every demo user's password is "buildly-demo-password" (local use only).
INSERT OR IGNORE INTO organizations (id, name, settings, created_at, updated_at) VALUES
  ('00000000-0000-4000-8000-000000000001', 'Demo Organization', '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');

INSERT OR IGNORE INTO roles (id, organization_id, name, permissions, builtin, created_at, updated_at) VALUES
  ('0e000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'admin',  '{"*":["create","read","update","delete"]}', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('0e000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-000000000001', 'editor', '{"*":["create","read","update"]}', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('0e000000-0000-4000-8000-0000000000a3', '00000000-0000-4000-8000-000000000001', 'viewer', '{"*":["read"]}', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');

INSERT OR IGNORE INTO users (id, organization_id, email, name, password_hash, status, created_at, updated_at) VALUES
  ('0a000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000001', 'admin@demo.buildly.dev',  'Demo Admin',  'pbkdf2-sha256$100000$YnVpbGRseS1kZW1vLXNhbHQ$_B7LQEGMxxTt3lJoibgLEnSWfmWLDvd9E7ORiiCrawE', 'active', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('0a000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-000000000001', 'editor@demo.buildly.dev', 'Demo Editor', 'pbkdf2-sha256$100000$YnVpbGRseS1kZW1vLXNhbHQ$_B7LQEGMxxTt3lJoibgLEnSWfmWLDvd9E7ORiiCrawE', 'active', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('0a000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-000000000001', 'viewer@demo.buildly.dev', 'Demo Viewer', 'pbkdf2-sha256$100000$YnVpbGRseS1kZW1vLXNhbHQ$_B7LQEGMxxTt3lJoibgLEnSWfmWLDvd9E7ORiiCrawE', 'active', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');

INSERT OR IGNORE INTO user_roles (user_id, role_id) VALUES
  ('0a000000-0000-4000-8000-0000000000b1', '0e000000-0000-4000-8000-0000000000a1'),
  ('0a000000-0000-4000-8000-0000000000b2', '0e000000-0000-4000-8000-0000000000a2'),
  ('0a000000-0000-4000-8000-0000000000b3', '0e000000-0000-4000-8000-0000000000a3');
