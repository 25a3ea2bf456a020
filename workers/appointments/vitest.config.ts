import { serviceTestConfig } from "@buildly/shared/test/config";

export default serviceTestConfig({
  name: "appointments",
  dir: import.meta.dirname,
  // An empty database of its own for the test that replays migrations over existing rows.
  d1Databases: { DB: "buildly-appointments", MIGRATION_DB: "appointments-migration-test" },
});
