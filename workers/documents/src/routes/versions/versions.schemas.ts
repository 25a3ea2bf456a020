import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";

export const FileVersionSchema = z
  .object({
    version: z.number().int().openapi({ example: 2 }),
    content_type: z.string().openapi({ example: "application/pdf" }),
    size: z.number().int().openapi({ example: 48213 }),
    sha256: z.string().openapi({ example: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }),
    created_by: z.string().nullable().openapi({ example: "b7e3c1d2-4f5a-4b6c-8d7e-9f0a1b2c3d4e" }),
    created_at: TimestampSchema,
  })
  .openapi("FileVersion");

export const FileVersionListSchema = listResponseSchema(FileVersionSchema, "FileVersionList");

export const VersionListQuerySchema = PaginationQuerySchema;

export const VersionParamSchema = z.object({
  id: IdSchema.openapi({ param: { name: "id", in: "path" } }),
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31)
    .openapi({ param: { name: "version", in: "path" }, example: 1 }),
});
