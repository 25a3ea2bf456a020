-- Folders (a tree per organization), file versions, an indexed tag table, a deletion tombstone
-- and an upload journal. Foreign keys carry organization_id, so the database itself refuses a
-- file in another organization's folder or a folder under another organization's folder.

CREATE TABLE folders (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  parent_id TEXT,
  name TEXT NOT NULL,
  created_by TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, parent_id) REFERENCES folders (organization_id, id)
);
-- A name is unique among its siblings; the root (parent_id NULL) counts as one parent.
CREATE UNIQUE INDEX folders_sibling_name ON folders (organization_id, ifnull(parent_id, ''), name);
CREATE INDEX folders_org_created ON folders (organization_id, created_at, id);
CREATE INDEX folders_org_parent_created ON folders (organization_id, parent_id, created_at, id);

-- files gains folder_id (with a composite foreign key, which SQLite cannot add to an existing
-- table) and status, so it is rebuilt. Nothing referenced it before this migration.
CREATE TABLE files_v2 (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  folder_id TEXT,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  tags TEXT NOT NULL DEFAULT '[]',
  object_key TEXT NOT NULL,
  -- 'deleting': a tombstone. The row is hidden from every read while its objects are removed;
  -- a retried DELETE or the scheduled sweep finishes the job.
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleting')),
  created_by TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, folder_id) REFERENCES folders (organization_id, id)
);
INSERT INTO files_v2 (id, organization_id, folder_id, name, content_type, size, sha256, version, tags, object_key, status, created_by, created_at, updated_at)
  SELECT id, organization_id, NULL, name, content_type, size, sha256, version, tags, object_key, 'active', created_by, created_at, updated_at FROM files;
DROP TABLE files;
ALTER TABLE files_v2 RENAME TO files;
CREATE INDEX files_org_created ON files (organization_id, created_at, id);
CREATE INDEX files_org_folder_created ON files (organization_id, folder_id, created_at, id);
CREATE INDEX files_org_name ON files (organization_id, name COLLATE NOCASE);
CREATE INDEX files_tombstones ON files (updated_at) WHERE status = 'deleting';

-- Every stored body of a file; files holds a copy of the current one's fields.
CREATE TABLE file_versions (
  file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  organization_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  object_key TEXT NOT NULL UNIQUE,
  created_by TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (file_id, version)
);
INSERT INTO file_versions (file_id, organization_id, version, content_type, size, sha256, object_key, created_by, created_at)
  SELECT id, organization_id, version, content_type, size, sha256, object_key, created_by, updated_at FROM files;

-- files.tags (JSON) is what reads return; file_tags is its index for ?tag= filters, kept in
-- step by triggers so no writer can forget it.
CREATE TABLE file_tags (
  file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  organization_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (file_id, tag)
);
CREATE INDEX file_tags_org_tag ON file_tags (organization_id, tag, file_id);
INSERT OR IGNORE INTO file_tags (file_id, organization_id, tag)
  SELECT f.id, f.organization_id, j.value FROM files f, json_each(f.tags) j;
CREATE TRIGGER files_tags_after_insert AFTER INSERT ON files
BEGIN
  INSERT OR IGNORE INTO file_tags (file_id, organization_id, tag) SELECT new.id, new.organization_id, value FROM json_each(new.tags);
END;
CREATE TRIGGER files_tags_after_update AFTER UPDATE OF tags ON files
BEGIN
  DELETE FROM file_tags WHERE file_id = new.id;
  INSERT OR IGNORE INTO file_tags (file_id, organization_id, tag) SELECT new.id, new.organization_id, value FROM json_each(new.tags);
END;

-- The upload journal: a row is written before a body goes to R2 and removed in the same batch
-- that records the finished file or version. A row left behind (the Worker died mid-upload)
-- names an object no file points at; the scheduled sweep deletes it.
CREATE TABLE uploads (
  object_key TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  file_id TEXT NOT NULL,
  started_at TEXT NOT NULL
);
CREATE INDEX uploads_started ON uploads (started_at);
