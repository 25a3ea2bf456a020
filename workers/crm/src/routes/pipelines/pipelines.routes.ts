import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { withDefaultPipeline } from "../../lib/default-pipeline";
import { PipelineCreateSchema, PipelineListQuerySchema, PipelineListSchema, PipelineSchema, PipelineUpdateSchema } from "./pipelines.schemas";

const tags = ["Pipelines"];

export const listPipelines = createRoute({
  method: "get",
  path: "/pipelines",
  operationId: "listPipelines",
  summary: "List pipelines (the organization's default pipeline included), a page at a time",
  tags,
  middleware: [withDefaultPipeline] as const,
  request: { query: PipelineListQuerySchema },
  responses: {
    200: jsonContent(PipelineListSchema, "A page of pipelines"),
    ...problemResponses(422),
  },
});

export const createPipeline = createRoute({
  method: "post",
  path: "/pipelines",
  operationId: "createPipeline",
  summary: "Create a pipeline with its ordered stages",
  tags,
  middleware: [jsonBody(64 * 1024), withDefaultPipeline] as const,
  request: { body: jsonContentRequired(PipelineCreateSchema) },
  responses: {
    201: jsonContent(PipelineSchema, "The new pipeline"),
    ...problemResponses(400, 413, 415, 422),
  },
});

export const getPipeline = createRoute({
  method: "get",
  path: "/pipelines/{id}",
  operationId: "getPipeline",
  summary: "Read one pipeline",
  tags,
  middleware: [withDefaultPipeline] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PipelineSchema, "The pipeline"),
    ...problemResponses(404, 422),
  },
});

export const updatePipeline = createRoute({
  method: "patch",
  path: "/pipelines/{id}",
  operationId: "updatePipeline",
  summary: "Rename a pipeline or replace its stages (reorder, rename, add, remove)",
  description: "A stage that deals are in cannot be removed (409); move those deals to another stage first.",
  tags,
  middleware: [jsonBody(64 * 1024), withDefaultPipeline] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(PipelineUpdateSchema),
  },
  responses: {
    200: jsonContent(PipelineSchema, "The updated pipeline"),
    ...problemResponses(400, 404, 409, 413, 415, 422),
  },
});

export const deletePipeline = createRoute({
  method: "delete",
  path: "/pipelines/{id}",
  operationId: "deletePipeline",
  summary: "Delete a pipeline no deal uses",
  description: "Refused with 409 while deals use the pipeline. The default pipeline may be deleted too; it is not created again.",
  tags,
  middleware: [withDefaultPipeline] as const,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 409, 422),
  },
});
