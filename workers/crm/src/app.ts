import { createServiceApp, crudRoutes as crud, lazyRoutes, registerMeta } from "@buildly/shared/service";

export const SERVICE = "crm";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  // Each group's schemas and routes are built on its first request (packages/shared/src/lazy-routes.ts).
  lazyRoutes(app, crud("contacts"), () => import("./routes/contacts").then((m) => m.registerContacts));
  lazyRoutes(app, crud("companies"), () => import("./routes/companies").then((m) => m.registerCompanies));
  lazyRoutes(app, crud("deals"), () => import("./routes/deals").then((m) => m.registerDeals));
  lazyRoutes(app, crud("pipelines"), () => import("./routes/pipelines").then((m) => m.registerPipelines));
  lazyRoutes(app, crud("activities"), () => import("./routes/activities").then((m) => m.registerActivities));
  registerMeta(app, {
    title: "Buildly CRM",
    description:
      "Contacts, companies, deals in pipelines, and the activities logged against them, for one organization at a time. " +
      "Lists filter, sort (`sort=field` or `sort=-field`), search (`q`, full-text) and page with an opaque cursor.",
  });
  return app;
}

export const app = buildApp();
