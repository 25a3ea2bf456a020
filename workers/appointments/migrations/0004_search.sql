-- Full-text search over appointment titles, for the data mesh's search: FTS5 with the CRM's
-- tokenizer (word prefixes, diacritics folded), organization_id indexed so a search is narrowed
-- to one organization inside the index. An ordinary FTS table carrying the appointment's id
-- (appointments has a TEXT primary key, and implicit rowids are not stable); the triggers find
-- an appointment's row by that id through the index.
CREATE VIRTUAL TABLE appointments_fts USING fts5(title, organization_id, appointment_id, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO appointments_fts (title, organization_id, appointment_id) SELECT title, organization_id, id FROM appointments;
CREATE TRIGGER appointments_fts_after_insert AFTER INSERT ON appointments
BEGIN
  INSERT INTO appointments_fts (title, organization_id, appointment_id) VALUES (new.title, new.organization_id, new.id);
END;
CREATE TRIGGER appointments_fts_after_update AFTER UPDATE OF title, organization_id ON appointments
BEGIN
  DELETE FROM appointments_fts WHERE appointments_fts MATCH 'appointment_id : "' || old.id || '"';
  INSERT INTO appointments_fts (title, organization_id, appointment_id) VALUES (new.title, new.organization_id, new.id);
END;
CREATE TRIGGER appointments_fts_after_delete AFTER DELETE ON appointments
BEGIN
  DELETE FROM appointments_fts WHERE appointments_fts MATCH 'appointment_id : "' || old.id || '"';
END;
