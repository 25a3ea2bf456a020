import { serviceTestConfig } from "@buildly/shared/test/config";

// Tests inside workerd on this Worker's wrangler.toml bindings, migrations applied first; the
// demo seed is read too (TEST_SEED), so a test can run it against the schema.
export default serviceTestConfig({ name: "__service__", dir: import.meta.dirname, seed: true });
