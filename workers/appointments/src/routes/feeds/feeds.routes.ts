import { createRoute, z } from "@hono/zod-openapi";
import { IdParamSchema, jsonContent, problemResponses } from "@buildly/shared";

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

export const FeedUrlSchema = z
  .object({
    calendar_id: z.uuid(),
    token: z.string().openapi({ description: "The secret; shown only in this answer (the service keeps only its SHA-256)." }),
    path: z.string().openapi({ example: "/v1/appointments/feeds/Jx0v7dH3Q2m9W5rR8kLpZt1bYc4nVa6sEe2uGf0hKiM.ics" }),
    created_at: z.iso.datetime(),
  })
  .openapi("CalendarFeedUrl");

export const rotateCalendarFeedUrl = createRoute({
  method: "post",
  path: "/calendars/{id}/feed-url",
  operationId: "rotateCalendarFeedUrl",
  summary: "Give the calendar a new secret feed URL",
  description:
    "Creates the calendar's secret iCalendar feed URL, or replaces it: the previous URL answers 404 at once. " +
    "The URL needs no token (calendar programs can subscribe to it), is read-only and rate-limited per IP address and per URL. " +
    "Its secret is shown only in this answer; treat it as a password.",
  tags: ["Calendars"],
  request: { params: IdParamSchema },
  responses: {
    201: jsonContent(FeedUrlSchema, "The new feed URL (its secret is not shown again)"),
    ...problemResponses(404, 422),
  },
});

export const revokeCalendarFeedUrl = createRoute({
  method: "post",
  path: "/calendars/{id}/feed-url/revoke",
  operationId: "revokeCalendarFeedUrl",
  summary: "Revoke the calendar's secret feed URL",
  description: "The URL answers 404 from the next request on. Revoking a calendar that has no feed URL also answers 204.",
  tags: ["Calendars"],
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Revoked" },
    ...problemResponses(404, 422),
  },
});
