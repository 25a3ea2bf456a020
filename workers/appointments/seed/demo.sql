-- Demo data for local development. Fixed ids and INSERT OR IGNORE: running it twice changes nothing.
INSERT OR IGNORE INTO calendars (id, organization_id, name, time_zone, working_hours, created_at, updated_at) VALUES
  ('a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01', '00000000-0000-4000-8000-000000000001', 'Sales team', 'Europe/London',
   '{"mon":[{"start":"09:00","end":"17:00"}],"tue":[{"start":"09:00","end":"17:00"}],"wed":[{"start":"09:00","end":"17:00"}],"thu":[{"start":"09:00","end":"17:00"}],"fri":[{"start":"09:00","end":"15:00"}],"sat":[],"sun":[]}',
   '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z'),
  ('a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02', '00000000-0000-4000-8000-000000000001', 'Support desk', 'America/New_York',
   '{"mon":[{"start":"08:00","end":"12:00"},{"start":"13:00","end":"18:00"}],"tue":[{"start":"08:00","end":"18:00"}],"wed":[{"start":"08:00","end":"18:00"}],"thu":[{"start":"08:00","end":"18:00"}],"fri":[{"start":"08:00","end":"16:00"}],"sat":[],"sun":[]}',
   '2026-01-06T09:00:00.000Z', '2026-01-06T09:00:00.000Z');
