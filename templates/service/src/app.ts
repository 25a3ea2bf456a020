import { createServiceApp, crudRoutes as crud, lazyRoutes, registerMeta } from "@buildly/shared/service";

/** The path segment behind the gateway (/v1/__service__/...) and the name in logs and problems. */
export const SERVICE = "__service__";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  // The group's schemas and routes are built on its first request (packages/shared/src/lazy-routes.ts).
  lazyRoutes(app, crud("items"), () => import("./routes/items").then((m) => m.registerItems));
  registerMeta(app, {
    title: "Buildly __TITLE__",
    description:
      "Items of one organization at a time. Lists filter (`status`, `tag`, `contact_id`), sort (`sort=field` or `sort=-field`), " +
      "search (`q`, full-text) and page with an opaque cursor.",
  });
  return app;
}

export const app = buildApp();
