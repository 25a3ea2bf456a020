-- Demo data for local development, organization 00000000-0000-4000-8000-000000000001.
-- Fixed ids and INSERT OR IGNORE: running it twice changes nothing. Other services link to the
-- contact and company ids below; keep them.

INSERT OR IGNORE INTO companies (id, organization_id, name, domain, tags, custom_fields, created_at, updated_at) VALUES
  ('c0a1b2c3-0000-4000-8000-00000000c001', '00000000-0000-4000-8000-000000000001', 'Analytical Engines Ltd', 'analytical.example', '["customer"]', '{"industry":"Manufacturing","employees":120}', '2026-01-04T09:00:00.000Z', '2026-01-04T09:00:00.000Z'),
  ('c0a1b2c3-0000-4000-8000-00000000c002', '00000000-0000-4000-8000-000000000001', 'Compiler Works Inc', 'cobol.example', '["customer","enterprise"]', '{"industry":"Software","employees":900}', '2026-01-04T09:10:00.000Z', '2026-01-04T09:10:00.000Z'),
  ('c0a1b2c3-0000-4000-8000-00000000c003', '00000000-0000-4000-8000-000000000001', 'Orbital Mechanics Co', 'orbits.example', '["prospect"]', '{"industry":"Aerospace","employees":45}', '2026-01-04T09:20:00.000Z', '2026-01-04T09:20:00.000Z');

INSERT OR IGNORE INTO contacts (id, organization_id, first_name, last_name, email, phone, company_id, tags, custom_fields, created_at, updated_at) VALUES
  ('6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', '00000000-0000-4000-8000-000000000001', 'Ada', 'Lovelace', 'ada@analytical.example', '+442079460001', 'c0a1b2c3-0000-4000-8000-00000000c001', '["vip","engineering"]', '{"preferred_language":"en","newsletter":true}', '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z'),
  ('6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02', '00000000-0000-4000-8000-000000000001', 'Grace', 'Hopper', 'grace@cobol.example', '+12025550102', 'c0a1b2c3-0000-4000-8000-00000000c002', '["engineering"]', '{"newsletter":false}', '2026-01-06T10:30:00.000Z', '2026-01-06T10:30:00.000Z'),
  ('6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03', '00000000-0000-4000-8000-000000000001', 'Katherine', 'Johnson', 'katherine@orbits.example', '+17575550103', 'c0a1b2c3-0000-4000-8000-00000000c003', '["prospect"]', '{}', '2026-01-07T14:15:00.000Z', '2026-01-07T14:15:00.000Z'),
  ('6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04', '00000000-0000-4000-8000-000000000001', 'Alan', 'Turing', 'alan@bletchley.example', '+441908640404', 'c0a1b2c3-0000-4000-8000-00000000c001', '["prospect","research"]', '{"role":"Consultant"}', '2026-01-08T08:45:00.000Z', '2026-01-08T08:45:00.000Z');

-- A local database seeded before migration 0002 already has these contacts, and the migration
-- turned their free-text company names into companies with random ids. Point those contacts at
-- the fixed companies instead, then drop the stand-ins nothing refers to any more.
UPDATE contacts SET company_id = 'c0a1b2c3-0000-4000-8000-00000000c001'
  WHERE organization_id = '00000000-0000-4000-8000-000000000001'
    AND id IN ('6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04')
    AND company_id IN (SELECT id FROM companies WHERE organization_id = '00000000-0000-4000-8000-000000000001'
      AND id NOT LIKE 'c0a1b2c3-0000-4000-8000-00000000c00_' AND lower(name) IN ('analytical engines ltd', 'bletchley analytics'));
UPDATE contacts SET company_id = 'c0a1b2c3-0000-4000-8000-00000000c002'
  WHERE organization_id = '00000000-0000-4000-8000-000000000001' AND id = '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02'
    AND company_id IN (SELECT id FROM companies WHERE organization_id = '00000000-0000-4000-8000-000000000001'
      AND id NOT LIKE 'c0a1b2c3-0000-4000-8000-00000000c00_' AND lower(name) = 'compiler works inc');
UPDATE contacts SET company_id = 'c0a1b2c3-0000-4000-8000-00000000c003'
  WHERE organization_id = '00000000-0000-4000-8000-000000000001' AND id = '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03'
    AND company_id IN (SELECT id FROM companies WHERE organization_id = '00000000-0000-4000-8000-000000000001'
      AND id NOT LIKE 'c0a1b2c3-0000-4000-8000-00000000c00_' AND lower(name) = 'orbital mechanics co');
DELETE FROM companies
  WHERE organization_id = '00000000-0000-4000-8000-000000000001'
    AND id NOT LIKE 'c0a1b2c3-0000-4000-8000-00000000c00_'
    AND lower(name) IN ('analytical engines ltd', 'compiler works inc', 'orbital mechanics co', 'bletchley analytics')
    AND NOT EXISTS (SELECT 1 FROM contacts WHERE contacts.organization_id = companies.organization_id AND contacts.company_id = companies.id)
    AND NOT EXISTS (SELECT 1 FROM deals WHERE deals.organization_id = companies.organization_id AND deals.company_id = companies.id)
    AND NOT EXISTS (SELECT 1 FROM activities WHERE activities.organization_id = companies.organization_id AND activities.company_id = companies.id);

-- The default pipeline, as the CRM would provision it: its id is the UUID v5 of the organization
-- id (src/lib/default-pipeline.ts), and the provisioned_organizations row marks it done.
INSERT OR IGNORE INTO pipelines (id, organization_id, name, stages, is_default, created_at, updated_at) VALUES
  ('5ce69a22-6b10-57d8-912d-61145853291f', '00000000-0000-4000-8000-000000000001', 'Sales',
   '[{"id":"lead","name":"Lead"},{"id":"qualified","name":"Qualified"},{"id":"proposal","name":"Proposal"},{"id":"negotiation","name":"Negotiation"},{"id":"won","name":"Won"},{"id":"lost","name":"Lost"}]',
   1, '2026-01-04T08:00:00.000Z', '2026-01-04T08:00:00.000Z');
INSERT OR IGNORE INTO provisioned_organizations (organization_id, default_pipeline_id, provisioned_at) VALUES
  ('00000000-0000-4000-8000-000000000001', '5ce69a22-6b10-57d8-912d-61145853291f', '2026-01-04T08:00:00.000Z');

INSERT OR IGNORE INTO deals (id, organization_id, title, amount, currency, pipeline_id, stage, contact_id, company_id, expected_close_date, created_at, updated_at) VALUES
  ('dea10000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'Difference Engine maintenance contract', 1250000, 'GBP', '5ce69a22-6b10-57d8-912d-61145853291f', 'proposal', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', 'c0a1b2c3-0000-4000-8000-00000000c001', '2026-12-15', '2026-01-10T09:00:00.000Z', '2026-01-10T09:00:00.000Z'),
  ('dea10000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'COBOL compiler support renewal', 4800000, 'USD', '5ce69a22-6b10-57d8-912d-61145853291f', 'negotiation', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02', 'c0a1b2c3-0000-4000-8000-00000000c002', '2026-11-30', '2026-01-11T11:00:00.000Z', '2026-01-11T11:00:00.000Z'),
  ('dea10000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'Trajectory analysis pilot', 750000, 'USD', '5ce69a22-6b10-57d8-912d-61145853291f', 'qualified', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03', 'c0a1b2c3-0000-4000-8000-00000000c003', NULL, '2026-01-12T16:00:00.000Z', '2026-01-12T16:00:00.000Z'),
  ('dea10000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001', 'Codebreaking workshop', 300000, 'GBP', '5ce69a22-6b10-57d8-912d-61145853291f', 'won', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04', 'c0a1b2c3-0000-4000-8000-00000000c001', '2026-02-01', '2026-01-13T10:00:00.000Z', '2026-01-20T10:00:00.000Z');

INSERT OR IGNORE INTO activities (id, organization_id, type, contact_id, company_id, deal_id, occurred_at, body, created_at, updated_at) VALUES
  ('ac710000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'call', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01', 'c0a1b2c3-0000-4000-8000-00000000c001', 'dea10000-0000-4000-8000-000000000001', '2026-01-12T15:30:00.000Z', 'Discussed the maintenance schedule; Ada will send the spec.', '2026-01-12T15:45:00.000Z', '2026-01-12T15:45:00.000Z'),
  ('ac710000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'email', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02', NULL, 'dea10000-0000-4000-8000-000000000002', '2026-01-14T09:05:00.000Z', 'Sent the renewal quote with the three-year option.', '2026-01-14T09:05:00.000Z', '2026-01-14T09:05:00.000Z'),
  ('ac710000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'meeting', '6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03', 'c0a1b2c3-0000-4000-8000-00000000c003', NULL, '2026-01-15T14:00:00.000Z', 'Kick-off for the trajectory pilot: data access and success criteria.', '2026-01-15T16:00:00.000Z', '2026-01-15T16:00:00.000Z'),
  ('ac710000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001', 'note', NULL, 'c0a1b2c3-0000-4000-8000-00000000c002', NULL, '2026-01-16T08:30:00.000Z', 'Procurement moves to a new vendor portal in March.', '2026-01-16T08:30:00.000Z', '2026-01-16T08:30:00.000Z');
