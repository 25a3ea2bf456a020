import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerActivities } from "./routes/activities";
import { registerCompanies } from "./routes/companies";
import { registerContacts } from "./routes/contacts";
import { registerDeals } from "./routes/deals";
import { registerPipelines } from "./routes/pipelines";

export const SERVICE = "crm";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerContacts(app);
  registerCompanies(app);
  registerDeals(app);
  registerPipelines(app);
  registerActivities(app);
  registerMeta(app, {
    title: "Buildly CRM",
    description:
      "Contacts, companies, deals in pipelines, and the activities logged against them, for one organization at a time. " +
      "Lists filter, sort (`sort=field` or `sort=-field`), search (`q`, full-text) and page with an opaque cursor.",
  });
  return app;
}

export const app = buildApp();
