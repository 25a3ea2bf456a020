import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";

/** A file name: no path separators, no control characters, not "." or "..". */
export const FileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((n) => !/[\/\\\u0000-\u001f\u007f]/.test(n), { message: "Names may not hold path separators or control characters" })
  .refine((n) => n !== "." && n !== "..", { message: "Not a file name" })
  .openapi({ example: "contract.pdf" });

export const FileSchema = z
  .object({
    id: IdSchema,
    name: z.string().openapi({ example: "contract.pdf" }),
    content_type: z.string().openapi({ example: "application/pdf" }),
    size: z.number().int().openapi({ example: 48213 }),
    sha256: z.string().openapi({ example: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }),
    version: z.number().int().openapi({ example: 1 }),
    tags: z.array(z.string()),
    created_by: z.string().nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("File");

export const FileListSchema = listResponseSchema(FileSchema, "FileList");

export const UploadQuerySchema = z.object({
  name: FileNameSchema.openapi({ param: { name: "name", in: "query" } }),
});
