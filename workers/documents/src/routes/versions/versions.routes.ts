import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, problemResponses, jsonContent } from "@buildly/shared";
import { downloadResponses } from "../files/files.routes";
import { FileVersionListSchema, VersionListQuerySchema, VersionParamSchema } from "./versions.schemas";

const tags = ["Files"];

export const listVersions = createRoute({
  method: "get",
  path: "/files/{id}/versions",
  operationId: "listFileVersions",
  summary: "List a file's stored versions, oldest (1) first, a page at a time",
  tags,
  request: { params: IdParamSchema, query: VersionListQuerySchema },
  responses: {
    200: jsonContent(FileVersionListSchema, "A page of versions"),
    ...problemResponses(404, 422),
  },
});

export const getVersionContent = createRoute({
  method: "get",
  path: "/files/{id}/versions/{version}/content",
  operationId: "getFileVersionContent",
  summary: "Download one version of a file (streamed; ETag, If-None-Match, Range)",
  tags,
  request: { params: VersionParamSchema },
  responses: downloadResponses,
});
