import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerAppointments } from "./routes/appointments";
import { registerAvailability } from "./routes/availability";
import { registerCalendars } from "./routes/calendars";
import { registerFeeds } from "./routes/feeds";

export const SERVICE = "appointments";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerCalendars(app);
  registerAvailability(app);
  registerFeeds(app);
  registerAppointments(app);
  registerMeta(app, {
    title: "Buildly Appointments",
    description:
      "Calendars with an IANA time zone and working hours; appointments, one-off or recurring (an RFC 5545 RRULE subset expanded on the calendar's wall clock), " +
      "with overlap checks, occurrence windows, free slots and an iCalendar feed per calendar.",
  });
  return app;
}

export const app = buildApp();
