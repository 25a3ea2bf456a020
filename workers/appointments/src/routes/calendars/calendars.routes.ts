import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, jsonBody, jsonContent, jsonContentRequired } from "@buildly/shared";
import { problemResponses } from "@buildly/shared";
import { ConflictProblemSchema } from "../appointments/appointments.schemas";
import { CalendarCreateSchema, CalendarListSchema, CalendarSchema, CalendarUpdateSchema } from "./calendars.schemas";

const tags = ["Calendars"];

export const listCalendars = createRoute({
  method: "get",
  path: "/calendars",
  operationId: "listCalendars",
  summary: "List calendars, oldest first, a page at a time",
  tags,
  request: {
    query: PaginationQuerySchema,
  },
  responses: {
    200: jsonContent(CalendarListSchema, "A page of calendars"),
    ...problemResponses(422),
  },
});

export const createCalendar = createRoute({
  method: "post",
  path: "/calendars",
  operationId: "createCalendar",
  summary: "Create a calendar",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: { body: jsonContentRequired(CalendarCreateSchema) },
  responses: {
    201: jsonContent(CalendarSchema, "The new calendar"),
    ...problemResponses(400, 413, 415, 422),
  },
});

export const getCalendar = createRoute({
  method: "get",
  path: "/calendars/{id}",
  operationId: "getCalendar",
  summary: "Read one calendar",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(CalendarSchema, "The calendar"),
    ...problemResponses(404, 422),
  },
});

export const updateCalendar = createRoute({
  method: "patch",
  path: "/calendars/{id}",
  operationId: "updateCalendar",
  summary: "Change some fields of a calendar",
  description:
    "Recurring appointments follow the calendar's wall clock, so a new time_zone moves their occurrences; " +
    "the change is refused with 409 if that would make scheduled appointments overlap that did not before.",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(CalendarUpdateSchema),
  },
  responses: {
    200: jsonContent(CalendarSchema, "The updated calendar"),
    ...problemResponses(400, 404, 413, 415, 422),
    409: {
      description: "In the new time zone, a recurring appointment would overlap a scheduled one",
      content: { "application/problem+json": { schema: ConflictProblemSchema } },
    },
  },
});

export const deleteCalendar = createRoute({
  method: "delete",
  path: "/calendars/{id}",
  operationId: "deleteCalendar",
  summary: "Delete a calendar and all its appointments",
  tags,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 422),
  },
});
