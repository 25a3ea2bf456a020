import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { withDefaultPipeline } from "../../lib/default-pipeline";
import { DealCreateSchema, DealListQuerySchema, DealListSchema, DealSchema, DealUpdateSchema } from "./deals.schemas";

const tags = ["Deals"];

export const listDeals = createRoute({
  method: "get",
  path: "/deals",
  operationId: "listDeals",
  summary: "List deals, filtered, searched and sorted, a page at a time",
  tags,
  middleware: [withDefaultPipeline] as const,
  request: { query: DealListQuerySchema },
  responses: {
    200: jsonContent(DealListSchema, "A page of deals"),
    ...problemResponses(422),
  },
});

export const createDeal = createRoute({
  method: "post",
  path: "/deals",
  operationId: "createDeal",
  summary: "Create a deal",
  description: "pipeline_id defaults to the organization's default pipeline and stage to the pipeline's first stage.",
  tags,
  middleware: [jsonBody(64 * 1024), withDefaultPipeline] as const,
  request: { body: jsonContentRequired(DealCreateSchema) },
  responses: {
    201: jsonContent(DealSchema, "The new deal"),
    ...problemResponses(400, 409, 413, 415, 422),
  },
});

export const getDeal = createRoute({
  method: "get",
  path: "/deals/{id}",
  operationId: "getDeal",
  summary: "Read one deal",
  tags,
  middleware: [withDefaultPipeline] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(DealSchema, "The deal"),
    ...problemResponses(404, 422),
  },
});

export const updateDeal = createRoute({
  method: "patch",
  path: "/deals/{id}",
  operationId: "updateDeal",
  summary: "Change some fields of a deal (move it to another stage or pipeline)",
  tags,
  middleware: [jsonBody(64 * 1024), withDefaultPipeline] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(DealUpdateSchema),
  },
  responses: {
    200: jsonContent(DealSchema, "The updated deal"),
    ...problemResponses(400, 404, 409, 413, 415, 422),
  },
});

export const deleteDeal = createRoute({
  method: "delete",
  path: "/deals/{id}",
  operationId: "deleteDeal",
  summary: "Delete a deal",
  description: "Activities logged only against the deal are deleted with it; activities also linked to a contact or company stay, without the deal link.",
  tags,
  middleware: [withDefaultPipeline] as const,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 422),
  },
});
