import { serviceTestConfig } from "@buildly/shared/test/config";

export default serviceTestConfig({
  name: "documents",
  dir: import.meta.dirname,
  // seed/demo.sql, split into statements the same way, so a test can run the real seed.
  seed: true,
  // MAX_UPLOAD_BYTES overrides wrangler.toml's 100 MiB: big enough for a three-part R2
  // multipart upload (2 x 5 MiB + rest), small enough that the 413 boundary is cheap to reach.
  bindings: { MAX_UPLOAD_BYTES: String(12 * 1024 * 1024) },
  // An empty database for testing the migrations themselves, step by step.
  d1Databases: ["MIGRATION_DB"],
});
