import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerItems } from "./routes/items";

/** The path segment behind the gateway (/v1/__service__/...) and the name in logs and problems. */
export const SERVICE = "__service__";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerItems(app);
  registerMeta(app, {
    title: "Buildly __TITLE__",
    description:
      "Items of one organization at a time. Lists filter (`status`, `tag`, `contact_id`), sort (`sort=field` or `sort=-field`), " +
      "search (`q`, full-text) and page with an opaque cursor.",
  });
  return app;
}

export const app = buildApp();
