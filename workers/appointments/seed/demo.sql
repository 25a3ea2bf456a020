-- Demo data for local development. Fixed ids and INSERT OR IGNORE: running it twice changes nothing.
INSERT OR IGNORE INTO calendars (id, organization_id, name, time_zone, working_hours, created_at, updated_at) VALUES
  ('a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01', '00000000-0000-4000-8000-000000000001', 'Sales team', 'Europe/London',
   '{"mon":[{"start":"09:00","end":"17:00"}],"tue":[{"start":"09:00","end":"17:00"}],"wed":[{"start":"09:00","end":"17:00"}],"thu":[{"start":"09:00","end":"17:00"}],"fri":[{"start":"09:00","end":"15:00"}],"sat":[],"sun":[]}',
   '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z'),
  ('a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02', '00000000-0000-4000-8000-000000000001', 'Support desk', 'America/New_York',
   '{"mon":[{"start":"08:00","end":"12:00"},{"start":"13:00","end":"18:00"}],"tue":[{"start":"08:00","end":"18:00"}],"wed":[{"start":"08:00","end":"18:00"}],"thu":[{"start":"08:00","end":"18:00"}],"fri":[{"start":"08:00","end":"16:00"}],"sat":[],"sun":[]}',
   '2026-01-06T09:00:00.000Z', '2026-01-06T09:00:00.000Z');

-- Appointments in the two calendars, with the fixed CRM contacts as attendees. range_end is the
-- stored bound on a series' last end (src/scheduling/series.ts rangeEndOf; test/seed.test.ts checks it).
INSERT OR IGNORE INTO appointments (id, organization_id, calendar_id, title, start_at, end_at, range_end, attendees, location, status, recurrence, version, created_at, updated_at) VALUES
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01',
   'Weekly pipeline review', '2026-01-05T09:30:00.000Z', '2026-01-05T10:00:00.000Z', '2028-01-05T10:00:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01","email":"ada@analytical.example","name":"Ada Lovelace"},{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04","email":"alan@bletchley.example","name":"Alan Turing"}]',
   'Meeting room 1', 'scheduled', 'FREQ=WEEKLY;BYDAY=MO', 1, '2026-01-02T10:00:00.000Z', '2026-01-02T10:00:00.000Z'),
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c02', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01',
   'Analytical Engines Ltd: renewal call', '2026-03-11T14:00:00.000Z', '2026-03-11T14:45:00.000Z', '2026-03-11T14:45:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01","email":"ada@analytical.example","name":"Ada Lovelace"}]',
   'Phone', 'scheduled', NULL, 1, '2026-02-20T11:00:00.000Z', '2026-02-20T11:00:00.000Z'),
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c03', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01',
   'Compiler Works Inc: product demo', '2026-04-15T13:00:00.000Z', '2026-04-15T14:00:00.000Z', '2026-04-15T14:00:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02","email":"grace@cobol.example","name":"Grace Hopper"},{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04","email":"alan@bletchley.example","name":"Alan Turing"}]',
   'Video call', 'scheduled', NULL, 1, '2026-03-02T09:15:00.000Z', '2026-03-02T09:15:00.000Z'),
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c04', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01',
   'Lunch with Alan', '2026-03-20T12:00:00.000Z', '2026-03-20T13:00:00.000Z', '2026-03-20T13:00:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04","email":"alan@bletchley.example","name":"Alan Turing"}]',
   'The Eagle, Cambridge', 'cancelled', NULL, 2, '2026-03-01T08:00:00.000Z', '2026-03-18T16:30:00.000Z'),
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c05', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02',
   'Orbital Mechanics Co: onboarding', '2026-03-10T14:00:00.000Z', '2026-03-10T15:00:00.000Z', '2026-03-10T15:00:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03","email":"katherine@orbits.example","name":"Katherine Johnson"}]',
   'Video call', 'scheduled', NULL, 1, '2026-02-25T15:00:00.000Z', '2026-02-25T15:00:00.000Z'),
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c06', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02',
   'Escalation review: COBOL batch failures', '2026-02-17T16:00:00.000Z', '2026-02-17T16:30:00.000Z', '2026-02-17T16:30:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02","email":"grace@cobol.example","name":"Grace Hopper"},{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03","email":"katherine@orbits.example","name":"Katherine Johnson"}]',
   NULL, 'completed', NULL, 2, '2026-02-10T14:00:00.000Z', '2026-02-17T17:00:00.000Z'),
  ('b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c07', '00000000-0000-4000-8000-000000000001', 'a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02',
   'Monthly support retro', '2026-02-03T15:00:00.000Z', '2026-02-03T15:45:00.000Z', '2026-07-09T14:45:00.000Z',
   '[{"contact_id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03","email":"katherine@orbits.example","name":"Katherine Johnson"}]',
   'Support room', 'scheduled', 'FREQ=MONTHLY;COUNT=6;BYDAY=1TU', 1, '2026-01-20T12:00:00.000Z', '2026-01-20T12:00:00.000Z');
