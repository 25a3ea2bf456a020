import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { MAX_MEDIA_TYPE_LENGTH } from "../../lib/media-type";
import { MAX_FORM_FIELD_BYTES } from "../../storage/intake";
import { MAX_TAGS, NAME_PATTERN } from "../common.schemas";
import { FileListQuerySchema, FileListSchema, FileSchema, FileUpdateSchema, UploadQuerySchema } from "./files.schemas";

const tags = ["Files"];

/*
 * Request bodies of uploads are documented with plain JSON Schema, not zod: a zod schema for
 * multipart/form-data would make @hono/zod-openapi parse (and buffer) the whole form before the
 * handler runs. The handler streams the body itself.
 */
const binaryBody = { schema: { type: "string", format: "binary" } as never };

const MEDIA_TYPE_RULE =
  `a media type per RFC 9110 (type/subtype with optional ;name=value parameters, printable ASCII, at most ${MAX_MEDIA_TYPE_LENGTH} characters; ` +
  "absent: application/octet-stream), else 422";

/** A raw body: any bytes, described by the request's own Content-Type. */
const rawBody = {
  schema: {
    type: "string",
    format: "binary",
    description: `The file's bytes. The request's Content-Type is stored as the file's: ${MEDIA_TYPE_RULE} at header.content-type.`,
  } as never,
};

const fileField = {
  type: "string",
  format: "binary",
  description: `The file; its filename names it unless a name field is given. The part's Content-Type is stored as the file's: ${MEDIA_TYPE_RULE} at form.file.content-type.`,
};

const uploadForm = {
  schema: {
    type: "object",
    required: ["file"],
    // The parser refuses any other field (422 at form.<field>), and a second file part.
    additionalProperties: false,
    properties: {
      file: fileField,
      name: {
        type: "string",
        minLength: 1,
        maxLength: 255,
        pattern: NAME_PATTERN,
        not: { enum: [".", ".."] },
        description: 'The file name (default: the file part\'s filename): no / or \\, no control characters, not "." or "..".',
      },
      folder_id: { type: "string", format: "uuid", description: "The folder to put the file in (default: the top level); given once." },
      tags: {
        type: "string",
        description:
          `Comma-separated tags; the field may repeat. At most ${MAX_TAGS} tags in all, each 1..100 characters without commas, ` +
          `control characters or outer spaces. Each text field holds at most ${MAX_FORM_FIELD_BYTES} bytes.`,
      },
    },
  } as never,
  example: { name: "contract.pdf", folder_id: "4b1f2c1e-8e0a-4c5d-9a47-1f3f2b0c9d11", tags: "contract,contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01" },
};

const versionForm = {
  schema: { type: "object", required: ["file"], additionalProperties: false, properties: { file: fileField } } as never,
};

export const listFiles = createRoute({
  method: "get",
  path: "/files",
  operationId: "listFiles",
  summary: "List files, oldest first, a page at a time; filter by folder, tag and name prefix",
  tags,
  request: { query: FileListQuerySchema },
  responses: {
    200: jsonContent(FileListSchema, "A page of files"),
    ...problemResponses(422),
  },
});

export const uploadFile = createRoute({
  method: "post",
  path: "/files",
  operationId: "uploadFile",
  summary: "Upload a file, streamed into R2: a multipart/form-data form, or the raw body with ?name=",
  description:
    "Either a multipart/form-data form with a `file` part (and optional `name`, `folder_id`, `tags` fields), " +
    "or the raw body with its own Content-Type and `?name=` (optional `?folder_id=`, `?tags=a,b`). Query values " +
    "apply to a form too; its fields win. A form holds no other fields, and one file part. The Content-Type (of the raw body, " +
    "or of the file part) must be a well-formed media type (422 otherwise). Larger than MAX_UPLOAD_BYTES (default 100 MiB) is 413.",
  tags,
  request: {
    query: UploadQuerySchema,
    body: {
      required: true,
      content: {
        "multipart/form-data": uploadForm,
        "application/octet-stream": rawBody,
      },
    },
  },
  responses: {
    201: jsonContent(FileSchema, "The stored file's metadata"),
    ...problemResponses(400, 413, 422),
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
    200: jsonContent(FileSchema, "The file's metadata"),
    ...problemResponses(404, 422),
  },
});

export const updateFile = createRoute({
  method: "patch",
  path: "/files/{id}",
  operationId: "updateFile",
  summary: "Rename a file, move it to another folder, or replace its tags",
  tags,
  middleware: [jsonBody(16 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(FileUpdateSchema),
  },
  responses: {
    200: jsonContent(FileSchema, "The updated metadata"),
    ...problemResponses(400, 404, 413, 415, 422),
  },
});

export const deleteFile = createRoute({
  method: "delete",
  path: "/files/{id}",
  operationId: "deleteFile",
  summary: "Delete a file with every stored version",
  tags,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 422),
  },
});

const downloadResponses = {
  200: { description: "The body, with the media type it was stored with (application/octet-stream when none)", content: { "*/*": binaryBody } },
  206: { description: "One byte range of the body (Range), with Content-Range", content: { "*/*": binaryBody } },
  304: { description: "Not modified (If-None-Match matched the ETag)" },
  ...problemResponses(404, 416, 422),
};

export const getFileContent = createRoute({
  method: "get",
  path: "/files/{id}/content",
  operationId: "getFileContent",
  summary: "Download the current version (streamed; ETag, If-None-Match, Range)",
  tags,
  request: { params: IdParamSchema },
  responses: downloadResponses,
});

export const putFileContent = createRoute({
  method: "put",
  path: "/files/{id}/content",
  operationId: "putFileContent",
  summary: "Store a new version of the file (raw body or a form with a file part); earlier versions are kept",
  tags,
  request: {
    params: IdParamSchema,
    body: {
      required: true,
      content: { "multipart/form-data": versionForm, "application/octet-stream": rawBody },
    },
  },
  responses: {
    200: jsonContent(FileSchema, "The file's metadata, now at the new version"),
    ...problemResponses(400, 404, 413, 422),
  },
});

export { downloadResponses };
