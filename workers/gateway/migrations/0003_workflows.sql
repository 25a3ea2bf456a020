-- Workflows (src/workflows/): templates, their versions, and the index of instances. Each
-- instance lives in its own Durable Object (WorkflowInstance), which holds the truth; the rows of
-- workflow_instances are what lists and filters read, and the object keeps them in step.
CREATE TABLE workflow_templates (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  latest_version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX workflow_templates_org ON workflow_templates (organization_id, created_at, id);

-- One row per version; a change adds a version and never rewrites one.
CREATE TABLE workflow_template_versions (
  template_id TEXT NOT NULL REFERENCES workflow_templates(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  organization_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  -- JSON { initial_state, states, transitions }
  definition TEXT NOT NULL,
  created_by TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (template_id, version)
);

-- No foreign key to the template: finished instances outlive a deleted template.
CREATE TABLE workflow_instances (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  template_id TEXT NOT NULL,
  template_version INTEGER NOT NULL,
  state TEXT NOT NULL,
  terminal INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL,
  subject_service TEXT,
  subject_model TEXT,
  subject_id TEXT,
  parent_id TEXT,
  -- JSON { data, created_by }: what the object starts from. The object normally starts at once;
  -- one whose row was written without it (the demo seed) starts from here on first access.
  init TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX workflow_instances_org ON workflow_instances (organization_id, created_at, id);
CREATE INDEX workflow_instances_template ON workflow_instances (organization_id, template_id, created_at, id);
CREATE INDEX workflow_instances_state ON workflow_instances (organization_id, state, created_at, id);
CREATE INDEX workflow_instances_subject ON workflow_instances (organization_id, subject_service, subject_id, created_at, id);
-- "Does a running instance use this template?" (DELETE of a template).
CREATE INDEX workflow_instances_running ON workflow_instances (template_id, terminal);
