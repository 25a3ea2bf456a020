-- What deleting a record does to the records a relationship says refer to it (docs/data-mesh.md):
-- 'restrict' refuses the delete while any refer to it, 'set_null' clears the reference (removes the
-- entry from a list field), 'cascade' deletes the referring records, 'unlink' (join_records
-- relationships only) removes the join records. Existing field relationships keep their records
-- and lose the reference, as a deleted record should not stay named.
ALTER TABLE mesh_relationships ADD COLUMN on_delete TEXT NOT NULL DEFAULT 'set_null'
  CHECK (on_delete IN ('restrict', 'set_null', 'cascade', 'unlink'));
UPDATE mesh_relationships SET on_delete = 'unlink' WHERE kind = 'join_records';
