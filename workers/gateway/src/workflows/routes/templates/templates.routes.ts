import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../../identity/authenticate";
import { requireWorkflowPermission } from "../../access";
import { TemplateInputSchema, TemplateListSchema, TemplateQuerySchema, TemplateSchema } from "../../schemas";

const tags = ["Workflows"];
/** A template with 50 states and 100 transitions, each with a few actions, fits comfortably. */
const MAX_TEMPLATE_BYTES = 256 * 1024;
const template = (description: string) => jsonContent(TemplateSchema, description);

export const createTemplate = createRoute({
  method: "post",
  path: "/v1/workflows/templates",
  operationId: "createWorkflowTemplate",
  summary: "Create a workflow template (admins only)",
  description:
    "The graph is checked before it is stored: unknown or duplicate state keys, states that cannot be reached from the initial state " +
    "or cannot reach an end, no terminal state, a transition out of a terminal state, a timeout or wait that names no transition leaving " +
    "its state, and actions naming an unknown service, model or template all answer 422, one `errors` entry per problem. " +
    "Quotas (problem type quota-exceeded, naming `quota` and `limit`): a version larger than 64 KiB is 413; 200 templates per " +
    "organization, 100 versions per template and 4 MiB of templates per organization (every version counted) are 422.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(MAX_TEMPLATE_BYTES)] as const,
  request: { body: jsonContentRequired(TemplateInputSchema) },
  responses: { 201: template("The template, version 1"), ...problemResponses(400, 401, 403, 409, 413, 415, 422, 502) },
});

export const listTemplates = createRoute({
  method: "get",
  path: "/v1/workflows/templates",
  operationId: "listWorkflowTemplates",
  summary: "List the organization's workflow templates, each at its latest version",
  tags,
  middleware: [authenticate, requireWorkflowPermission("read")] as const,
  request: { query: PaginationQuerySchema },
  responses: {
    200: jsonContent(TemplateListSchema, "A page of templates"),
    ...problemResponses(401, 403, 422),
  },
});

export const getTemplate = createRoute({
  method: "get",
  path: "/v1/workflows/templates/{id}",
  operationId: "getWorkflowTemplate",
  summary: "Read a workflow template (its latest version, or ?version=N)",
  tags,
  middleware: [authenticate, requireWorkflowPermission("read")] as const,
  request: { params: IdParamSchema, query: TemplateQuerySchema },
  responses: { 200: template("The template"), ...problemResponses(401, 403, 404, 422) },
});

export const updateTemplate = createRoute({
  method: "put",
  path: "/v1/workflows/templates/{id}",
  operationId: "updateWorkflowTemplate",
  summary: "Replace a workflow template: a new version (admins only)",
  description:
    "The whole template, checked as on create, within the same quotas (422 at 100 versions or 4 MiB of the organization's templates, " +
    "413 for a version over 64 KiB). Running instances keep the version they started with; new ones get this one.",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(MAX_TEMPLATE_BYTES)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(TemplateInputSchema) },
  responses: { 200: template("The new version"), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 502) },
});

export const deleteTemplate = createRoute({
  method: "delete",
  path: "/v1/workflows/templates/{id}",
  operationId: "deleteWorkflowTemplate",
  summary: "Delete a workflow template with all its versions (admins only)",
  description: "409 while a running (not yet terminal) instance uses any of its versions. Finished instances stay readable.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 409, 422) },
});
