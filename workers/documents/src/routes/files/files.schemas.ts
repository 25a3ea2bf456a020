import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { FolderFilterSchema, MAX_TAGS, NameSchema, TagSchema, TagsSchema } from "../common.schemas";

export const FileSchema = z
  .object({
    id: IdSchema,
    name: z.string().openapi({ example: "contract.pdf" }),
    folder_id: IdSchema.nullable().openapi({ description: "The folder holding the file; null at the top level.", example: null }),
    content_type: z.string().openapi({ example: "application/pdf" }),
    size: z.number().int().openapi({ description: "Bytes of the current version.", example: 48213 }),
    sha256: z.string().openapi({
      description: "SHA-256 of the current version, lower-case hex (also its ETag).",
      example: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    }),
    version: z.number().int().openapi({ description: "The current version; 1 for a new file.", example: 1 }),
    tags: z.array(z.string()).openapi({ example: ["contract", "contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01"] }),
    created_by: z.string().nullable().openapi({ example: "b7e3c1d2-4f5a-4b6c-8d7e-9f0a1b2c3d4e" }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("File");

export const FileListSchema = listResponseSchema(FileSchema, "FileList");

export const FileListQuerySchema = PaginationQuerySchema.extend({
  folder_id: FolderFilterSchema.optional().openapi({
    description: 'Only files directly in this folder; "root" for the top level. Without it, files in any folder.',
  }),
  tag: TagSchema.optional().openapi({ description: "Only files with this tag.", example: "contract" }),
  name: z.string().min(1).max(255).optional().openapi({
    description: "Only files whose name starts with this (a prefix, ASCII case-insensitive).",
    example: "statement",
  }),
});

/** `?tags=a,b`: a comma-separated list. */
const CommaTagsSchema = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
  )
  .pipe(z.array(TagSchema).max(MAX_TAGS))
  .transform((tags) => [...new Set(tags)]);

export const UploadQuerySchema = z.object({
  name: NameSchema.optional().openapi({
    param: { name: "name", in: "query" },
    description: "The file name. Required for a raw body; a form may give it as the file part's filename or a name field.",
  }),
  folder_id: IdSchema.optional().openapi({
    param: { name: "folder_id", in: "query" },
    description: "The folder to put the file in (a folder of the caller's organization, else 422; default: the top level).",
  }),
  tags: CommaTagsSchema.optional().openapi({
    param: { name: "tags", in: "query" },
    description: `Comma-separated tags: at most ${MAX_TAGS}, each 1..100 characters without commas, control characters or outer spaces.`,
    example: "contract,contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
  }),
});

/** What a form's text fields may hold; the same rules as the query of a raw upload. */
export const UploadFormFieldsSchema = z
  .object({
    name: NameSchema.optional(),
    folder_id: IdSchema.optional(),
    tags: z
      .array(CommaTagsSchema)
      .transform((lists) => [...new Set(lists.flat())])
      .pipe(z.array(TagSchema).max(MAX_TAGS))
      .optional(),
  })
  .strict();

export const FileUpdateSchema = z
  .object({
    name: NameSchema.openapi({ example: "contract-signed.pdf" }),
    folder_id: IdSchema.nullable().openapi({
      description: "Move the file here (a folder of the caller's organization, else 422); null moves it to the top level.",
    }),
    tags: TagsSchema.openapi({ description: "The new set of tags (replaces the old one)." }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "Give at least one field to change." })
  .openapi("FileUpdate", {
    description: "At least one field to change (the content type changes only with a new version).",
    minProperties: 1,
    example: { name: "contract-signed.pdf", tags: ["contract", "signed"] },
  });
