import { serviceTestConfig } from "@buildly/shared/test/config";

export default serviceTestConfig({
  name: "crm",
  dir: import.meta.dirname,
  // The demo seed, split into statements the same way, so a test can run it (twice) against the schema.
  seed: true,
  // An empty database of its own for the test that replays migrations over legacy data.
  d1Databases: { DB: "buildly-crm", MIGRATION_DB: "crm-migration-test" },
});
