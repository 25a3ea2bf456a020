import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import {
  CompanyCreateSchema,
  CompanyDeleteQuerySchema,
  CompanyListQuerySchema,
  CompanyListSchema,
  CompanySchema,
  CompanyUpdateSchema,
} from "./companies.schemas";

const tags = ["Companies"];

export const listCompanies = createRoute({
  method: "get",
  path: "/companies",
  operationId: "listCompanies",
  summary: "List companies, filtered, searched and sorted, a page at a time",
  tags,
  request: { query: CompanyListQuerySchema },
  responses: {
    200: jsonContent(CompanyListSchema, "A page of companies"),
    ...problemResponses(422),
  },
});

export const createCompany = createRoute({
  method: "post",
  path: "/companies",
  operationId: "createCompany",
  summary: "Create a company",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: { body: jsonContentRequired(CompanyCreateSchema) },
  responses: {
    201: jsonContent(CompanySchema, "The new company"),
    ...problemResponses(400, 413, 415, 422),
  },
});

export const getCompany = createRoute({
  method: "get",
  path: "/companies/{id}",
  operationId: "getCompany",
  summary: "Read one company",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(CompanySchema, "The company"),
    ...problemResponses(404, 422),
  },
});

export const updateCompany = createRoute({
  method: "patch",
  path: "/companies/{id}",
  operationId: "updateCompany",
  summary: "Change some fields of a company",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(CompanyUpdateSchema),
  },
  responses: {
    200: jsonContent(CompanySchema, "The updated company"),
    ...problemResponses(400, 404, 413, 415, 422),
  },
});

export const deleteCompany = createRoute({
  method: "delete",
  path: "/companies/{id}",
  operationId: "deleteCompany",
  summary: "Delete a company",
  description:
    "Refused with 409 while deals reference the company, and while contacts do unless `detach=contacts` is given " +
    "(their company_id then becomes null in the same transaction). Activities logged only against the company are " +
    "deleted with it; activities also linked to a contact or deal stay, without the company link.",
  tags,
  request: { params: IdParamSchema, query: CompanyDeleteQuerySchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 409, 422),
  },
});
