-- Demo data for local development. Fixed ids and INSERT OR IGNORE: running it twice changes nothing.
-- Every file body named by an object_key here is put into local R2 by scripts/migrate.sh from this
-- folder; the sizes and SHA-256 values below are those of the files beside this one
-- (test/seed.test.ts checks that they agree).
-- Files are tagged with the CRM contact they concern: contact:<contact id>.

-- The folder tree of the demo organization. Parents before children (foreign keys).
INSERT OR IGNORE INTO folders (id, organization_id, parent_id, name, created_by, created_at, updated_at) VALUES
  ('f01de700-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', NULL, 'Clients', NULL, '2026-01-02T09:00:00.000Z', '2026-01-02T09:00:00.000Z'),
  ('f01de700-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000001', NULL, 'Internal', NULL, '2026-01-02T09:00:01.000Z', '2026-01-02T09:00:01.000Z');
INSERT OR IGNORE INTO folders (id, organization_id, parent_id, name, created_by, created_at, updated_at) VALUES
  ('f01de700-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000001', 'Analytical Engines Ltd', NULL, '2026-01-02T09:01:00.000Z', '2026-01-02T09:01:00.000Z'),
  ('f01de700-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000001', 'Compiler Works Inc', NULL, '2026-01-02T09:01:01.000Z', '2026-01-02T09:01:01.000Z'),
  ('f01de700-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000001', 'Orbital Mechanics Co', NULL, '2026-01-02T09:01:02.000Z', '2026-01-02T09:01:02.000Z'),
  ('f01de700-0000-4000-8000-000000000007', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000006', 'Templates', NULL, '2026-01-02T09:01:03.000Z', '2026-01-02T09:01:03.000Z');
INSERT OR IGNORE INTO folders (id, organization_id, parent_id, name, created_by, created_at, updated_at) VALUES
  ('f01de700-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000002', 'Contracts', NULL, '2026-01-02T09:02:00.000Z', '2026-01-02T09:02:00.000Z');

-- Files (the row holds the current version), then every version. The tag index (file_tags) is
-- filled by the triggers of migration 0002.
INSERT OR IGNORE INTO files (id, organization_id, folder_id, name, content_type, size, sha256, version, tags, object_key, status, created_by, created_at, updated_at) VALUES
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000003', 'statement-of-work.txt', 'text/plain; charset=utf-8', 91, 'c8e81fc32018d3647d4da38cd426f38e243f92ec7cf5183018ec429d2a20241e', 1,
   '["contract","contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01"]', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01/v1', 'active', NULL, '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000002', 'Meeting notes – Ada Lovelace.md', 'text/markdown; charset=utf-8', 261, '717f0c5951f424e2872683454303a38945064395ca1f099949f91636b9063fa1', 2,
   '["meeting-notes","contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01"]', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02/v2', 'active', NULL, '2026-01-06T10:00:00.000Z', '2026-01-07T16:30:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d03', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000004', 'compiler-proposal.md', 'text/markdown; charset=utf-8', 220, '65a7f72b8f7ec539a9222ab048e8475251badbc2012f0d94b7b1f48285f802a5', 1,
   '["proposal","contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02"]', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d03/v1', 'active', NULL, '2026-01-08T11:00:00.000Z', '2026-01-08T11:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d04', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000005', 'trajectory-data.csv', 'text/csv; charset=utf-8', 107, 'd93df378dddff5acc245d0ea8e47a6f2ff460120cf1cc3861478d4dcd4f73249', 1,
   '["data","contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03"]', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d04/v1', 'active', NULL, '2026-01-09T14:00:00.000Z', '2026-01-09T14:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d05', '00000000-0000-4000-8000-000000000001', NULL, 'nda-alan-turing.txt', 'text/plain; charset=utf-8', 128, '9e634d3125117402044ec853e54bbea4effb1527ec28039f7ed8f09c2288947d', 1,
   '["nda","contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04"]', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d05/v1', 'active', NULL, '2026-01-10T09:30:00.000Z', '2026-01-10T09:30:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d06', '00000000-0000-4000-8000-000000000001', 'f01de700-0000-4000-8000-000000000007', 'invoice-template.txt', 'text/plain; charset=utf-8', 87, '0e31a9c8fe7c29f8cfb56e3c714173c78b6ecf197f3182ae81314dd68a15a13a', 1,
   '["template"]', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d06/v1', 'active', NULL, '2026-01-11T08:00:00.000Z', '2026-01-11T08:00:00.000Z');

INSERT OR IGNORE INTO file_versions (file_id, organization_id, version, content_type, size, sha256, object_key, created_by, created_at) VALUES
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01', '00000000-0000-4000-8000-000000000001', 1, 'text/plain; charset=utf-8', 91, 'c8e81fc32018d3647d4da38cd426f38e243f92ec7cf5183018ec429d2a20241e', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01/v1', NULL, '2026-01-05T09:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02', '00000000-0000-4000-8000-000000000001', 1, 'text/markdown; charset=utf-8', 203, 'b2d9e297490a94ff4eccc99a673680368faf2cbdec6d9e50653bf01ec628b017', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02/v1', NULL, '2026-01-06T10:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02', '00000000-0000-4000-8000-000000000001', 2, 'text/markdown; charset=utf-8', 261, '717f0c5951f424e2872683454303a38945064395ca1f099949f91636b9063fa1', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d02/v2', NULL, '2026-01-07T16:30:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d03', '00000000-0000-4000-8000-000000000001', 1, 'text/markdown; charset=utf-8', 220, '65a7f72b8f7ec539a9222ab048e8475251badbc2012f0d94b7b1f48285f802a5', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d03/v1', NULL, '2026-01-08T11:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d04', '00000000-0000-4000-8000-000000000001', 1, 'text/csv; charset=utf-8', 107, 'd93df378dddff5acc245d0ea8e47a6f2ff460120cf1cc3861478d4dcd4f73249', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d04/v1', NULL, '2026-01-09T14:00:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d05', '00000000-0000-4000-8000-000000000001', 1, 'text/plain; charset=utf-8', 128, '9e634d3125117402044ec853e54bbea4effb1527ec28039f7ed8f09c2288947d', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d05/v1', NULL, '2026-01-10T09:30:00.000Z'),
  ('d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d06', '00000000-0000-4000-8000-000000000001', 1, 'text/plain; charset=utf-8', 87, '0e31a9c8fe7c29f8cfb56e3c714173c78b6ecf197f3182ae81314dd68a15a13a', '00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d06/v1', NULL, '2026-01-11T08:00:00.000Z');

-- The statement of work predates folders and contact tags (seeded by an earlier version of this
-- file, so INSERT OR IGNORE above left it as it was): file it and tag it, once, while untouched.
UPDATE files
SET folder_id = 'f01de700-0000-4000-8000-000000000003', tags = '["contract","contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01"]'
WHERE id = 'd0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01' AND folder_id IS NULL AND tags = '["contract"]';
