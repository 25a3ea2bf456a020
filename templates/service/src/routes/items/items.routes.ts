import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, jsonContent, jsonContentRequired, problemResponses } from "@buildly/shared";
import { ItemCreateSchema, ItemListQuerySchema, ItemListSchema, ItemSchema, ItemUpdateSchema } from "./items.schemas";

const tags = ["Items"];
/** The largest JSON body a write accepts (413 beyond). */
const MAX_BODY = 64 * 1024;

export const listItems = createRoute({
  method: "get",
  path: "/items",
  operationId: "listItems",
  summary: "List items, filtered, searched and sorted, a page at a time",
  tags,
  request: { query: ItemListQuerySchema },
  responses: { 200: jsonContent(ItemListSchema, "A page of items"), ...problemResponses(422) },
});

export const createItem = createRoute({
  method: "post",
  path: "/items",
  operationId: "createItem",
  summary: "Create an item",
  tags,
  middleware: [jsonBody(MAX_BODY)] as const,
  request: { body: jsonContentRequired(ItemCreateSchema) },
  responses: { 201: jsonContent(ItemSchema, "The new item"), ...problemResponses(400, 413, 415, 422) },
});

export const getItem = createRoute({
  method: "get",
  path: "/items/{id}",
  operationId: "getItem",
  summary: "Read one item",
  tags,
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(ItemSchema, "The item"), ...problemResponses(404, 422) },
});

export const updateItem = createRoute({
  method: "patch",
  path: "/items/{id}",
  operationId: "updateItem",
  summary: "Change some fields of an item",
  tags,
  middleware: [jsonBody(MAX_BODY)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(ItemUpdateSchema) },
  responses: { 200: jsonContent(ItemSchema, "The updated item"), ...problemResponses(400, 404, 413, 415, 422) },
});

export const deleteItem = createRoute({
  method: "delete",
  path: "/items/{id}",
  operationId: "deleteItem",
  summary: "Delete an item",
  tags,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(404, 422) },
});
