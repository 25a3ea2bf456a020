import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { ActivityCreateSchema, ActivityListQuerySchema, ActivityListSchema, ActivitySchema, ActivityUpdateSchema } from "./activities.schemas";

const tags = ["Activities"];

export const listActivities = createRoute({
  method: "get",
  path: "/activities",
  operationId: "listActivities",
  summary: "List activities (newest first by default), filtered by what they are linked to or their type",
  tags,
  request: { query: ActivityListQuerySchema },
  responses: {
    200: jsonContent(ActivityListSchema, "A page of activities"),
    ...problemResponses(422),
  },
});

export const createActivity = createRoute({
  method: "post",
  path: "/activities",
  operationId: "createActivity",
  summary: "Log a note, call, email or meeting against a contact, company and/or deal",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: { body: jsonContentRequired(ActivityCreateSchema) },
  responses: {
    201: jsonContent(ActivitySchema, "The new activity"),
    ...problemResponses(400, 409, 413, 415, 422),
  },
});

export const getActivity = createRoute({
  method: "get",
  path: "/activities/{id}",
  operationId: "getActivity",
  summary: "Read one activity",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(ActivitySchema, "The activity"),
    ...problemResponses(404, 422),
  },
});

export const updateActivity = createRoute({
  method: "patch",
  path: "/activities/{id}",
  operationId: "updateActivity",
  summary: "Change some fields of an activity (it must stay linked to at least one record)",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(ActivityUpdateSchema),
  },
  responses: {
    200: jsonContent(ActivitySchema, "The updated activity"),
    ...problemResponses(400, 404, 409, 413, 415, 422),
  },
});

export const deleteActivity = createRoute({
  method: "delete",
  path: "/activities/{id}",
  operationId: "deleteActivity",
  summary: "Delete an activity",
  tags,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 422),
  },
});
