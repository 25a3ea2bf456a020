CREATE TABLE contacts (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT,
  company TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX contacts_org_email ON contacts (organization_id, email);
CREATE INDEX contacts_org_created ON contacts (organization_id, created_at, id);
