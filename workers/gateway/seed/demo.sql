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

-- The demo organization's console client (docs/console.md), with a fixed id so its console link is
-- known before the platform starts: http://127.0.0.1:8787/console/?client_id=0c000000-0000-4000-8000-000000000001
-- (a state made before this row keeps the console client it made itself: the unique index ignores this one).
INSERT OR IGNORE INTO clients (id, organization_id, name, secret_hash, roles, status, created_by, created_at, updated_at, client_type, first_party, token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, grant_types, scopes, jwks) VALUES
  ('0c000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'Buildly console', 'a1c0e7d9f2b4c6a8e0f1d3b5c7a9e1f3d5b7c9a1e3f5d7b9c1a3e5f7d9b1c3a5', '[]', 'active', NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'public', 1, 'none', '[]', '[]', '["authorization_code","refresh_token","password"]', '["openid","profile","email","offline_access","read","write"]', NULL);

-- The data mesh: the demo contacts linked to the documents about them (the default relationship
-- contacts -> documents, id 0e5e0000-...0002 in src/mesh/relationships/defaults.ts). The documents
-- seed tags each file contact:<contact id>; these are the same pairs.
INSERT OR IGNORE INTO mesh_joins (id, organization_id, relationship_id, origin_service, origin_model, origin_id, related_service, related_model, related_id, created_at) VALUES
  ('0e5e1000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', '0e5e0000-0000-4000-8000-000000000002', 'crm', 'contacts', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', 'documents', 'files', 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01', '2026-01-05T09:00:00.000Z'),
  ('0e5e1000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', '0e5e0000-0000-4000-8000-000000000002', 'crm', 'contacts', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', 'documents', 'files', 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02', '2026-01-06T10:00:00.000Z'),
  ('0e5e1000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', '0e5e0000-0000-4000-8000-000000000002', 'crm', 'contacts', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02', 'documents', 'files', 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d03', '2026-01-08T11:00:00.000Z'),
  ('0e5e1000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001', '0e5e0000-0000-4000-8000-000000000002', 'crm', 'contacts', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03', 'documents', 'files', 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d04', '2026-01-09T14:00:00.000Z'),
  ('0e5e1000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001', '0e5e0000-0000-4000-8000-000000000002', 'crm', 'contacts', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04', 'documents', 'files', 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d05', '2026-01-10T09:30:00.000Z');
-- Workflows: the document-approval template (version 1) and one running instance of it about the
-- demo statement of work. Only the index row is written here; the instance's Durable Object starts
-- itself from it on first access (src/workflows/instance.ts), at the template's initial state.
INSERT OR IGNORE INTO workflow_templates (id, organization_id, latest_version, created_at, updated_at) VALUES
  ('7e0f1a00-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 1, '2026-01-06T09:00:00.000Z', '2026-01-06T09:00:00.000Z');

INSERT OR IGNORE INTO workflow_template_versions (template_id, version, organization_id, name, description, definition, created_by, created_at) VALUES
  ('7e0f1a00-0000-4000-8000-000000000001', 1, '00000000-0000-4000-8000-000000000001', 'Document approval',
   'A document is drafted, reviewed and approved by an admin: approval tags the file and books a sign-off with the client. Unreviewed for 7 days, it expires.',
   '{"initial_state":"draft","states":[{"key":"draft","name":"Draft","terminal":false},{"key":"in_review","name":"In review","terminal":false,"timeout_seconds":604800,"on_timeout":"expire"},{"key":"approved","name":"Approved","terminal":true},{"key":"expired","name":"Expired","terminal":true}],"transitions":[{"key":"submit","name":"Submit for review","from":["draft"],"to":"in_review"},{"key":"request_changes","name":"Request changes","from":["in_review"],"to":"draft","roles":["admin"]},{"key":"approve","name":"Approve","from":["in_review"],"to":"approved","roles":["admin"],"actions":[{"type":"update","service":"documents","model":"files","id":"{{subject.id}}","body":{"tags":["contract","approved","contact:{{data.contact_id}}"]}},{"type":"create","service":"appointments","model":"appointments","body":{"calendar_id":"{{data.calendar_id}}","title":"Sign-off: {{data.title}}","start":"{{data.signoff_start}}","end":"{{data.signoff_end}}","attendees":[{"contact_id":"{{data.contact_id}}","email":"{{data.contact_email}}","name":"{{data.contact_name}}"}],"allow_overlap":true}}]},{"key":"expire","name":"Expire","from":["in_review"],"to":"expired","system_only":true}]}',
   '0a000000-0000-4000-8000-0000000000b1', '2026-01-06T09:00:00.000Z');

INSERT OR IGNORE INTO workflow_instances (id, organization_id, template_id, template_version, state, terminal, version, subject_service, subject_model, subject_id, parent_id, init, created_at, updated_at) VALUES
  ('7e0f1a00-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', '7e0f1a00-0000-4000-8000-000000000001', 1, 'draft', 0, 1,
   'documents', 'files', 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01', NULL,
   '{"data":{"title":"Statement of work","contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01","contact_email":"ada@analytical.example","contact_name":"Ada Lovelace","calendar_id":"a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01"},"created_by":{"type":"user","id":"0a000000-0000-4000-8000-0000000000b1"}}',
   '2026-01-06T09:30:00.000Z', '2026-01-06T09:30:00.000Z');
