-- Full-text search over file and folder names, for the data mesh's search. FTS5 with the same
-- tokenizer as the CRM's (word prefixes, diacritics folded). organization_id is an indexed column,
-- so a search is narrowed to one organization inside the FTS index itself.
--
-- These are ordinary (not external-content) FTS tables: files and folders have TEXT primary keys,
-- and their implicit rowids are not stable (VACUUM may renumber them), so each FTS row carries the
-- record's id instead, and triggers find a record's FTS row by that id through the index
-- (`<table>_fts MATCH 'file_id : "<uuid>"'` is an index lookup, never a scan).
CREATE VIRTUAL TABLE files_fts USING fts5(name, organization_id, file_id, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO files_fts (name, organization_id, file_id) SELECT name, organization_id, id FROM files;
CREATE TRIGGER files_fts_after_insert AFTER INSERT ON files
BEGIN
  INSERT INTO files_fts (name, organization_id, file_id) VALUES (new.name, new.organization_id, new.id);
END;
CREATE TRIGGER files_fts_after_update AFTER UPDATE OF name, organization_id ON files
BEGIN
  DELETE FROM files_fts WHERE files_fts MATCH 'file_id : "' || old.id || '"';
  INSERT INTO files_fts (name, organization_id, file_id) VALUES (new.name, new.organization_id, new.id);
END;
CREATE TRIGGER files_fts_after_delete AFTER DELETE ON files
BEGIN
  DELETE FROM files_fts WHERE files_fts MATCH 'file_id : "' || old.id || '"';
END;

CREATE VIRTUAL TABLE folders_fts USING fts5(name, organization_id, folder_id, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO folders_fts (name, organization_id, folder_id) SELECT name, organization_id, id FROM folders;
CREATE TRIGGER folders_fts_after_insert AFTER INSERT ON folders
BEGIN
  INSERT INTO folders_fts (name, organization_id, folder_id) VALUES (new.name, new.organization_id, new.id);
END;
CREATE TRIGGER folders_fts_after_update AFTER UPDATE OF name, organization_id ON folders
BEGIN
  DELETE FROM folders_fts WHERE folders_fts MATCH 'folder_id : "' || old.id || '"';
  INSERT INTO folders_fts (name, organization_id, folder_id) VALUES (new.name, new.organization_id, new.id);
END;
CREATE TRIGGER folders_fts_after_delete AFTER DELETE ON folders
BEGIN
  DELETE FROM folders_fts WHERE folders_fts MATCH 'folder_id : "' || old.id || '"';
END;
