import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerContacts } from "./routes/contacts";


export const SERVICE = "crm";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerContacts(app);
  registerMeta(app, {
    title: "Buildly CRM",
    description: "Contacts (and, as the platform grows, companies, deals, pipelines and activities).",
  });
  return app;
}

export const app = buildApp();
