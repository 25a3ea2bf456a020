-- The data mesh: relationships between models of different services, and the join records
-- that link two records of a `join_records` relationship. The platform's default
-- relationships live in code (src/mesh/relationships/defaults.ts), not here.
CREATE TABLE mesh_relationships (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  key TEXT NOT NULL,
  reverse_key TEXT NOT NULL,
  origin_service TEXT NOT NULL,
  origin_model TEXT NOT NULL,
  related_service TEXT NOT NULL,
  related_model TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('join_records', 'field')),
  -- For kind = 'field': the field holding the other record's id, and which side holds it.
  field TEXT,
  field_on TEXT CHECK (field_on IN ('origin', 'related')),
  created_at TEXT NOT NULL,
  CHECK ((kind = 'field') = (field IS NOT NULL AND field_on IS NOT NULL))
);
CREATE INDEX mesh_relationships_org_created ON mesh_relationships (organization_id, created_at, id);

-- Every key a relationship adds to a model (its key on the origin, its reverse_key on the
-- related model): one row each, so a key is unique per model whichever side it names.
CREATE TABLE mesh_relationship_keys (
  organization_id TEXT NOT NULL,
  service TEXT NOT NULL,
  model TEXT NOT NULL,
  key TEXT NOT NULL,
  relationship_id TEXT NOT NULL REFERENCES mesh_relationships(id) ON DELETE CASCADE,
  PRIMARY KEY (organization_id, service, model, key)
);
CREATE INDEX mesh_relationship_keys_relationship ON mesh_relationship_keys (relationship_id);

-- One link between two records. The ends' services and models are copied from the
-- relationship so that deleting a record removes its links without knowing the relationship
-- (defaults are not rows of mesh_relationships).
CREATE TABLE mesh_joins (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  relationship_id TEXT NOT NULL,
  origin_service TEXT NOT NULL,
  origin_model TEXT NOT NULL,
  origin_id TEXT NOT NULL,
  related_service TEXT NOT NULL,
  related_model TEXT NOT NULL,
  related_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX mesh_joins_link ON mesh_joins (organization_id, relationship_id, origin_id, related_id);
CREATE INDEX mesh_joins_related ON mesh_joins (organization_id, relationship_id, related_id);
CREATE INDEX mesh_joins_origin_record ON mesh_joins (organization_id, origin_id);
CREATE INDEX mesh_joins_related_record ON mesh_joins (organization_id, related_id);
CREATE INDEX mesh_joins_org_created ON mesh_joins (organization_id, created_at, id);
