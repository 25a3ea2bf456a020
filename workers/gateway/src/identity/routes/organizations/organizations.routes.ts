import { createRoute } from "@hono/zod-openapi";
import { jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../authenticate";
import { OrganizationSchema, OrganizationUpdateSchema } from "./organizations.schemas";

const tags = ["Organizations"];

export const getCurrentOrganization = createRoute({
  method: "get",
  path: "/v1/organizations/current",
  operationId: "getCurrentOrganization",
  summary: "The caller's organization",
  tags,
  middleware: [authenticate] as const,
  responses: {
    200: jsonContent(OrganizationSchema, "The organization"),
    ...problemResponses(401, 403, 404),
  },
});

export const updateCurrentOrganization = createRoute({
  method: "patch",
  path: "/v1/organizations/current",
  operationId: "updateCurrentOrganization",
  summary: "Rename the caller's organization or replace its settings (admins only)",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(16 * 1024)] as const,
  request: { body: jsonContentRequired(OrganizationUpdateSchema) },
  responses: {
    200: jsonContent(OrganizationSchema, "The updated organization"),
    ...problemResponses(400, 401, 403, 404, 413, 415, 422),
  },
});
