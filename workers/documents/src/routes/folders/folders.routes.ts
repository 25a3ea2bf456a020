import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { FolderCreateSchema, FolderDeleteQuerySchema, FolderListQuerySchema, FolderListSchema, FolderSchema, FolderUpdateSchema } from "./folders.schemas";

const tags = ["Folders"];

export const listFolders = createRoute({
  method: "get",
  path: "/folders",
  operationId: "listFolders",
  summary: "List folders (all, or the children of one), oldest first, a page at a time",
  tags,
  request: { query: FolderListQuerySchema },
  responses: {
    200: jsonContent(FolderListSchema, "A page of folders"),
    ...problemResponses(422),
  },
});

export const createFolder = createRoute({
  method: "post",
  path: "/folders",
  operationId: "createFolder",
  summary: "Create a folder (at the top level, or inside parent_id)",
  tags,
  middleware: [jsonBody(16 * 1024)] as const,
  request: { body: jsonContentRequired(FolderCreateSchema) },
  responses: {
    201: jsonContent(FolderSchema, "The new folder"),
    ...problemResponses(400, 409, 413, 415, 422),
  },
});

export const getFolder = createRoute({
  method: "get",
  path: "/folders/{id}",
  operationId: "getFolder",
  summary: "Read one folder",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(FolderSchema, "The folder"),
    ...problemResponses(404, 422),
  },
});

export const updateFolder = createRoute({
  method: "patch",
  path: "/folders/{id}",
  operationId: "updateFolder",
  summary: "Rename a folder or move it (409 if the name is taken there, or if the move would put it inside itself)",
  tags,
  middleware: [jsonBody(16 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(FolderUpdateSchema),
  },
  responses: {
    200: jsonContent(FolderSchema, "The updated folder"),
    ...problemResponses(400, 404, 409, 413, 415, 422),
  },
});

export const deleteFolder = createRoute({
  method: "delete",
  path: "/folders/{id}",
  operationId: "deleteFolder",
  summary: "Delete a folder: 409 if it is not empty, unless ?recursive=true (then everything inside goes too)",
  tags,
  request: { params: IdParamSchema, query: FolderDeleteQuerySchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 409, 422),
  },
});
