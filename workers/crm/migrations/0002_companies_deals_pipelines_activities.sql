-- CRM beyond contacts: companies, pipelines, deals and activities; contacts gain company_id and
-- custom_fields (the free-text contacts.company becomes a company record); full-text search.
--
-- Every table has an INTEGER PRIMARY KEY (rid) besides its UUID: FTS5 external-content tables
-- point at rows by rowid, and an implicit rowid may change on VACUUM. UUIDs are unique within an
-- organization, and references are composite foreign keys (organization_id, x_id), so a row can
-- only ever point at a record of its own organization. Names sort case-insensitively (NOCASE).

CREATE TABLE companies (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  name TEXT NOT NULL COLLATE NOCASE,
  domain TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  custom_fields TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX companies_org_id ON companies (organization_id, id);
CREATE INDEX companies_org_created ON companies (organization_id, created_at, id);
CREATE INDEX companies_org_updated ON companies (organization_id, updated_at, id);
CREATE INDEX companies_org_name ON companies (organization_id, name, id);
CREATE INDEX companies_org_domain ON companies (organization_id, domain, id);

-- One company per distinct (case-insensitive) company name that contacts carried as text.
INSERT INTO companies (id, organization_id, name, created_at, updated_at)
SELECT
  lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'
    || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
  organization_id, trim(company), min(created_at), min(created_at)
FROM contacts
WHERE company IS NOT NULL AND trim(company) <> ''
GROUP BY organization_id, lower(trim(company));

CREATE TABLE contacts_new (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  first_name TEXT NOT NULL COLLATE NOCASE,
  last_name TEXT NOT NULL COLLATE NOCASE,
  email TEXT NOT NULL,
  phone TEXT,
  company_id TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  custom_fields TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
INSERT INTO contacts_new (id, organization_id, first_name, last_name, email, phone, company_id, tags, created_at, updated_at)
SELECT
  c.id, c.organization_id, c.first_name, c.last_name, c.email, c.phone,
  (SELECT co.id FROM companies co WHERE co.organization_id = c.organization_id AND lower(co.name) = lower(trim(c.company))),
  c.tags, c.created_at, c.updated_at
FROM contacts c
ORDER BY c.created_at, c.id;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE UNIQUE INDEX contacts_org_id ON contacts (organization_id, id);
CREATE UNIQUE INDEX contacts_org_email ON contacts (organization_id, email);
CREATE INDEX contacts_org_created ON contacts (organization_id, created_at, id);
CREATE INDEX contacts_org_updated ON contacts (organization_id, updated_at, id);
CREATE INDEX contacts_org_first_name ON contacts (organization_id, first_name, id);
CREATE INDEX contacts_org_last_name ON contacts (organization_id, last_name, id);
CREATE INDEX contacts_org_company ON contacts (organization_id, company_id, created_at, id);

-- Stages are an ordered JSON array of {id, name}; deals name their stage by id.
CREATE TABLE pipelines (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  name TEXT NOT NULL COLLATE NOCASE,
  stages TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX pipelines_org_id ON pipelines (organization_id, id);
CREATE INDEX pipelines_org_created ON pipelines (organization_id, created_at, id);
CREATE INDEX pipelines_org_name ON pipelines (organization_id, name, id);

-- Organizations live at the gateway. A row here records that the CRM has given one its default
-- pipeline, so the default is created exactly once and stays deleted once deleted.
CREATE TABLE provisioned_organizations (
  organization_id TEXT PRIMARY KEY NOT NULL,
  default_pipeline_id TEXT NOT NULL,
  provisioned_at TEXT NOT NULL
);

CREATE TABLE deals (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  title TEXT NOT NULL COLLATE NOCASE,
  amount INTEGER NOT NULL CHECK (amount >= 0),
  currency TEXT NOT NULL,
  pipeline_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  contact_id TEXT,
  company_id TEXT,
  expected_close_date TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  FOREIGN KEY (organization_id, pipeline_id) REFERENCES pipelines (organization_id, id),
  FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
  FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE UNIQUE INDEX deals_org_id ON deals (organization_id, id);
CREATE INDEX deals_org_created ON deals (organization_id, created_at, id);
CREATE INDEX deals_org_updated ON deals (organization_id, updated_at, id);
CREATE INDEX deals_org_title ON deals (organization_id, title, id);
CREATE INDEX deals_org_amount ON deals (organization_id, amount, id);
CREATE INDEX deals_org_close ON deals (organization_id, expected_close_date, id);
CREATE INDEX deals_org_pipeline_stage ON deals (organization_id, pipeline_id, stage, created_at, id);
CREATE INDEX deals_org_contact ON deals (organization_id, contact_id, created_at, id);
CREATE INDEX deals_org_company ON deals (organization_id, company_id, created_at, id);

CREATE TABLE activities (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('note', 'call', 'email', 'meeting')),
  contact_id TEXT,
  company_id TEXT,
  deal_id TEXT,
  occurred_at TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CONSTRAINT activities_linked CHECK (contact_id IS NOT NULL OR company_id IS NOT NULL OR deal_id IS NOT NULL),
  FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
  FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id),
  FOREIGN KEY (organization_id, deal_id) REFERENCES deals (organization_id, id)
);
CREATE UNIQUE INDEX activities_org_id ON activities (organization_id, id);
CREATE INDEX activities_org_occurred ON activities (organization_id, occurred_at, id);
CREATE INDEX activities_org_created ON activities (organization_id, created_at, id);
CREATE INDEX activities_org_contact ON activities (organization_id, contact_id, occurred_at, id);
CREATE INDEX activities_org_company ON activities (organization_id, company_id, occurred_at, id);
CREATE INDEX activities_org_deal ON activities (organization_id, deal_id, occurred_at, id);
CREATE INDEX activities_org_type ON activities (organization_id, type, occurred_at, id);

-- Full-text search: external-content FTS5 tables kept in step by triggers. organization_id is
-- indexed too, so a search is narrowed to one organization inside the FTS index itself.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
  first_name, last_name, email, phone, organization_id,
  content = 'contacts', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
  INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, organization_id)
  VALUES (new.rid, new.first_name, new.last_name, new.email, new.phone, new.organization_id);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
  INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, phone, organization_id)
  VALUES ('delete', old.rid, old.first_name, old.last_name, old.email, old.phone, old.organization_id);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF first_name, last_name, email, phone, organization_id ON contacts BEGIN
  INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, phone, organization_id)
  VALUES ('delete', old.rid, old.first_name, old.last_name, old.email, old.phone, old.organization_id);
  INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, organization_id)
  VALUES (new.rid, new.first_name, new.last_name, new.email, new.phone, new.organization_id);
END;

CREATE VIRTUAL TABLE companies_fts USING fts5(
  name, domain, organization_id,
  content = 'companies', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
  INSERT INTO companies_fts (rowid, name, domain, organization_id) VALUES (new.rid, new.name, new.domain, new.organization_id);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
  INSERT INTO companies_fts (companies_fts, rowid, name, domain, organization_id)
  VALUES ('delete', old.rid, old.name, old.domain, old.organization_id);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF name, domain, organization_id ON companies BEGIN
  INSERT INTO companies_fts (companies_fts, rowid, name, domain, organization_id)
  VALUES ('delete', old.rid, old.name, old.domain, old.organization_id);
  INSERT INTO companies_fts (rowid, name, domain, organization_id) VALUES (new.rid, new.name, new.domain, new.organization_id);
END;

CREATE VIRTUAL TABLE deals_fts USING fts5(
  title, organization_id,
  content = 'deals', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER deals_fts_insert AFTER INSERT ON deals BEGIN
  INSERT INTO deals_fts (rowid, title, organization_id) VALUES (new.rid, new.title, new.organization_id);
END;
CREATE TRIGGER deals_fts_delete AFTER DELETE ON deals BEGIN
  INSERT INTO deals_fts (deals_fts, rowid, title, organization_id) VALUES ('delete', old.rid, old.title, old.organization_id);
END;
CREATE TRIGGER deals_fts_update AFTER UPDATE OF title, organization_id ON deals BEGIN
  INSERT INTO deals_fts (deals_fts, rowid, title, organization_id) VALUES ('delete', old.rid, old.title, old.organization_id);
  INSERT INTO deals_fts (rowid, title, organization_id) VALUES (new.rid, new.title, new.organization_id);
END;

-- Index the rows this migration carried over (the triggers see only later writes).
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');
INSERT INTO companies_fts (companies_fts) VALUES ('rebuild');
