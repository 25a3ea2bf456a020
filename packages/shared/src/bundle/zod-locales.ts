// Bundled in place of zod's index of locales (each Worker's wrangler.toml [alias] maps zod's
// relative import "../locales/index.js" here). zod re-exports every one of its ~50 locales as
// `z.locales`, and @hono/zod-openapi passes `z` around as a value, so no bundler can drop them:
// about a third of zod's size in every Worker, for error messages we never use (the platform's
// problem details are English). English stays, so `z.locales.en()` still works.
export { default as en } from "zod/v4/locales/en.js";
