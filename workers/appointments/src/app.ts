import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerCalendars } from "./routes/calendars";


export const SERVICE = "appointments";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerCalendars(app);
  registerMeta(app, {
    title: "Buildly Appointments",
    description: "Calendars with working hours (and, as the platform grows, appointments, availability and iCalendar feeds).",
  });
  return app;
}

export const app = buildApp();
