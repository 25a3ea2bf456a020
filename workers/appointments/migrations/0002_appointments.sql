-- Appointments: one-off or recurring (an RRULE subset expanded in the calendar's time zone).
CREATE TABLE appointments (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  calendar_id TEXT NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  start_at TEXT NOT NULL,
  end_at TEXT NOT NULL,
  range_end TEXT NOT NULL,
  attendees TEXT NOT NULL DEFAULT '[]',
  location TEXT,
  status TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'completed')),
  recurrence TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- Lists (oldest first, optionally one calendar's).
CREATE INDEX appointments_org_created ON appointments (organization_id, created_at, id);
CREATE INDEX appointments_org_calendar_created ON appointments (organization_id, calendar_id, created_at, id);
-- Windows (occurrences, availability, conflicts): series that have not ended before the window.
CREATE INDEX appointments_calendar_range ON appointments (organization_id, calendar_id, range_end, start_at);
CREATE INDEX appointments_org_range ON appointments (organization_id, range_end, start_at);
