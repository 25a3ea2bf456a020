import { createRoute, z } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import {
  AppointmentCreateSchema,
  AppointmentListQuerySchema,
  AppointmentListSchema,
  AppointmentSchema,
  AppointmentUpdateSchema,
  ConflictProblemSchema,
  OccurrenceListSchema,
} from "./appointments.schemas";

const tags = ["Appointments"];

const conflict = {
  409: {
    description: "Overlaps a scheduled appointment of the same calendar (unless allow_overlap is true)",
    content: { "application/problem+json": { schema: ConflictProblemSchema } },
  },
};

export const listAppointments = createRoute({
  method: "get",
  path: "/appointments",
  operationId: "listAppointments",
  summary: "List appointments, or with from and to the occurrences in that window",
  description:
    "Without `from`/`to`: the appointments themselves (a recurring one once), oldest first. " +
    "With `from` and `to` (given together, at most 366 days apart, holding at most 5000 appointments, else 422): every occurrence that overlaps [from, to), recurring appointments " +
    "expanded in their calendar's time zone, ordered by start; each carries its appointment's id and its own start and end. " +
    "Both are paginated with `limit` and `cursor`.",
  tags,
  request: { query: AppointmentListQuerySchema },
  responses: {
    200: {
      description: "A page of appointments (AppointmentList) or of occurrences (OccurrenceList)",
      content: { "application/json": { schema: z.union([AppointmentListSchema, OccurrenceListSchema]) } },
    },
    ...problemResponses(422),
  },
});

export const createAppointment = createRoute({
  method: "post",
  path: "/appointments",
  operationId: "createAppointment",
  summary: "Create an appointment (one-off or recurring)",
  description: "A calendar holds at most 200 recurring appointments (any status): another one is a 422 on `recurrence`.",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: { body: jsonContentRequired(AppointmentCreateSchema) },
  responses: {
    201: jsonContent(AppointmentSchema, "The new appointment"),
    ...problemResponses(400, 413, 415, 422),
    ...conflict,
  },
});

export const getAppointment = createRoute({
  method: "get",
  path: "/appointments/{id}",
  operationId: "getAppointment",
  summary: "Read one appointment",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(AppointmentSchema, "The appointment"),
    ...problemResponses(404, 422),
  },
});

export const updateAppointment = createRoute({
  method: "patch",
  path: "/appointments/{id}",
  operationId: "updateAppointment",
  summary: "Change some fields of an appointment (move it, reschedule it, cancel it...)",
  description:
    "Making a one-off recurring, or moving a series into a calendar that already holds 200 recurring appointments, " +
    "is a 422 on `recurrence` (or `calendar_id`).",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(AppointmentUpdateSchema),
  },
  responses: {
    200: jsonContent(AppointmentSchema, "The updated appointment"),
    ...problemResponses(400, 404, 413, 415, 422),
    ...conflict,
  },
});

export const deleteAppointment = createRoute({
  method: "delete",
  path: "/appointments/{id}",
  operationId: "deleteAppointment",
  summary: "Delete an appointment (a recurring one with all its occurrences)",
  tags,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 422),
  },
});
