import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, problemResponses } from "@buildly/shared";
import { FileListSchema, FileSchema, UploadQuerySchema } from "./files.schemas";

const tags = ["Files"];

export const listFiles = createRoute({
  method: "get",
  path: "/files",
  operationId: "listFiles",
  summary: "List files, oldest first, a page at a time",
  tags,
  request: { query: PaginationQuerySchema },
  responses: {
    200: { description: "A page of files", content: { "application/json": { schema: FileListSchema } } },
    ...problemResponses(422),
  },
});

export const uploadFile = createRoute({
  method: "post",
  path: "/files",
  operationId: "uploadFile",
  summary: "Upload a file: the raw body, its Content-Type and ?name=. Streamed into R2.",
  tags,
  request: {
    query: UploadQuerySchema,
    body: {
      required: true,
      content: { "application/octet-stream": { schema: { type: "string", format: "binary" } as never } },
    },
  },
  responses: {
    201: { description: "The stored file's metadata", content: { "application/json": { schema: FileSchema } } },
    ...problemResponses(411, 413, 422),
  },
});

export const getFile = createRoute({
  method: "get",
  path: "/files/{id}",
  operationId: "getFile",
  summary: "Read a file's metadata",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: { description: "The file's metadata", content: { "application/json": { schema: FileSchema } } },
    ...problemResponses(404, 422),
  },
});

export const getFileContent = createRoute({
  method: "get",
  path: "/files/{id}/content",
  operationId: "getFileContent",
  summary: "Download a file's body (streamed, with ETag)",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: { description: "The body", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } as never } } },
    304: { description: "Not modified (If-None-Match matched)" },
    ...problemResponses(404, 422),
  },
});

export const deleteFile = createRoute({
  method: "delete",
  path: "/files/{id}",
  operationId: "deleteFile",
  summary: "Delete a file and its stored body",
  tags,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 422),
  },
});
