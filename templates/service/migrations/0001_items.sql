-- __TITLE__: items, one organization's each. `rid` is the INTEGER PRIMARY KEY the FTS5 index
-- points at (the API never shows it); `id` is the public UUID.
CREATE TABLE items (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  name TEXT NOT NULL COLLATE NOCASE,
  description TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  contact_id TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX items_org_id ON items (organization_id, id);
-- One index per sort order and per lookup, each ending in id (the keyset pagination's tie-break).
CREATE INDEX items_org_created ON items (organization_id, created_at, id);
CREATE INDEX items_org_updated ON items (organization_id, updated_at, id);
CREATE INDEX items_org_name ON items (organization_id, name, id);
CREATE INDEX items_org_status ON items (organization_id, status, created_at, id);
CREATE INDEX items_org_contact ON items (organization_id, contact_id, created_at, id);

-- Full-text search over name and description. organization_id is a column of the index too, so a
-- match is narrowed to one organization inside the index (packages/shared/src/search.ts).
CREATE VIRTUAL TABLE items_fts USING fts5(
  name, description, organization_id,
  content = 'items', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
  INSERT INTO items_fts (rowid, name, description, organization_id) VALUES (new.rid, new.name, new.description, new.organization_id);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
  INSERT INTO items_fts (items_fts, rowid, name, description, organization_id) VALUES ('delete', old.rid, old.name, old.description, old.organization_id);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF name, description, organization_id ON items BEGIN
  INSERT INTO items_fts (items_fts, rowid, name, description, organization_id) VALUES ('delete', old.rid, old.name, old.description, old.organization_id);
  INSERT INTO items_fts (rowid, name, description, organization_id) VALUES (new.rid, new.name, new.description, new.organization_id);
END;
