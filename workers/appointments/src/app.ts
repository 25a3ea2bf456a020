import { createServiceApp, crudRoutes, lazyRoutes, registerMeta } from "@buildly/shared/service";

export const SERVICE = "appointments";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  // Each group's schemas and routes are built on its first request (packages/shared/src/lazy-routes.ts).
  lazyRoutes(app, crudRoutes("calendars"), () => import("./routes/calendars").then((m) => m.registerCalendars));
  lazyRoutes(app, [["get", "/calendars/{id}/availability"]], () => import("./routes/availability").then((m) => m.registerAvailability));
  lazyRoutes(
    app,
    [
      ["get", "/calendars/{id}/calendar.ics"],
      ["post", "/calendars/{id}/feed-url"],
      ["post", "/calendars/{id}/feed-url/revoke"],
    ],
    () => import("./routes/feeds").then((m) => m.registerFeeds),
  );
  lazyRoutes(app, crudRoutes("appointments"), () => import("./routes/appointments").then((m) => m.registerAppointments));
  registerMeta(app, {
    title: "Buildly Appointments",
    description:
      "Calendars with an IANA time zone and working hours; appointments, one-off or recurring (an RFC 5545 RRULE subset expanded on the calendar's wall clock), " +
      "with overlap checks, occurrence windows, free slots and an iCalendar feed per calendar.",
  });
  return app;
}

export const app = buildApp();
