import { createRoute, z } from "@hono/zod-openapi";
import { IdParamSchema, problemResponses } from "@buildly/shared";

export const getCalendarFeed = createRoute({
  method: "get",
  path: "/calendars/{id}/calendar.ics",
  operationId: "getCalendarFeed",
  summary: "The calendar as an RFC 5545 iCalendar feed",
  description:
    "The calendar's appointments with the latest starts (at most 5000, and at most 4 MiB of VEVENTs) as VEVENTs. One-off events are in UTC; " +
    "recurring ones carry TZID with a VTIMEZONE and their RRULE, bounded to the two-year expansion horizon so that " +
    "calendar programs show exactly the occurrences this API does.",
  tags: ["Calendars"],
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "The iCalendar feed",
      content: {
        "text/calendar": {
          schema: z.string().openapi({ example: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Buildly//Appointments 1.0//EN\r\n...\r\nEND:VCALENDAR\r\n" }),
        },
      },
    },
    ...problemResponses(404, 422),
  },
});
