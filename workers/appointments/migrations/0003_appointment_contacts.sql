-- The CRM contacts an appointment's attendees name (attendees[].contact_id), one row each, so the
-- data mesh can find an organization's appointments by contact with an index instead of reading
-- every appointment's attendees JSON. appointments.attendees stays what reads return; triggers
-- keep this table in step inside the same statement as the write, so no writer can forget it.
CREATE TABLE appointment_contacts (
  appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
  organization_id TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  -- The appointment's created_at: findBy answers the newest appointments per contact from the index alone.
  created_at TEXT NOT NULL,
  PRIMARY KEY (appointment_id, contact_id)
);
CREATE INDEX appointment_contacts_org_contact ON appointment_contacts (organization_id, contact_id, created_at, appointment_id);

-- Backfill the appointments written before this migration.
INSERT OR IGNORE INTO appointment_contacts (appointment_id, organization_id, contact_id, created_at)
  SELECT a.id, a.organization_id, json_extract(j.value, '$.contact_id'), a.created_at
  FROM appointments a, json_each(a.attendees) j
  WHERE json_extract(j.value, '$.contact_id') IS NOT NULL;

CREATE TRIGGER appointment_contacts_after_insert AFTER INSERT ON appointments
BEGIN
  INSERT OR IGNORE INTO appointment_contacts (appointment_id, organization_id, contact_id, created_at)
    SELECT new.id, new.organization_id, json_extract(value, '$.contact_id'), new.created_at
    FROM json_each(new.attendees) WHERE json_extract(value, '$.contact_id') IS NOT NULL;
END;
CREATE TRIGGER appointment_contacts_after_update AFTER UPDATE OF attendees, organization_id, created_at ON appointments
BEGIN
  DELETE FROM appointment_contacts WHERE appointment_id = new.id;
  INSERT OR IGNORE INTO appointment_contacts (appointment_id, organization_id, contact_id, created_at)
    SELECT new.id, new.organization_id, json_extract(value, '$.contact_id'), new.created_at
    FROM json_each(new.attendees) WHERE json_extract(value, '$.contact_id') IS NOT NULL;
END;
