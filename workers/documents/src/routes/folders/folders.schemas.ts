import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { FolderFilterSchema, NameSchema } from "../common.schemas";

export const FolderSchema = z
  .object({
    id: IdSchema,
    name: z.string().openapi({ example: "Contracts" }),
    parent_id: IdSchema.nullable().openapi({ description: "The parent folder; null at the top level.", example: null }),
    created_by: z.string().nullable().openapi({ example: "b7e3c1d2-4f5a-4b6c-8d7e-9f0a1b2c3d4e" }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Folder");

export const FolderListSchema = listResponseSchema(FolderSchema, "FolderList");

export const FolderListQuerySchema = PaginationQuerySchema.extend({
  parent_id: FolderFilterSchema.optional().openapi({
    description: 'Only the folders directly inside this one; "root" for the top level. Without it, every folder.',
    example: "root",
  }),
});

export const FolderCreateSchema = z
  .object({
    name: NameSchema.openapi({ example: "Contracts" }),
    parent_id: IdSchema.nullable().optional().openapi({ description: "A folder of the caller's organization (else 422); omit or null for the top level." }),
  })
  .strict()
  .openapi("FolderCreate", { example: { name: "Contracts", parent_id: null } });

export const FolderUpdateSchema = z
  .object({
    name: NameSchema.openapi({ example: "Signed contracts" }),
    parent_id: IdSchema.nullable().openapi({
      description:
        "Move the folder here (a folder of the caller's organization, else 422; not itself or one of its descendants, else 409); null moves it to the top level.",
    }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "Give at least one field to change." })
  .openapi("FolderUpdate", { description: "At least one field to change.", minProperties: 1, example: { name: "Signed contracts" } });

export const FolderDeleteQuerySchema = z.object({
  recursive: z
    .enum(["true", "false"])
    .optional()
    .transform((v) => v === "true")
    .openapi({
      param: { name: "recursive", in: "query" },
      description: "true deletes the folder with everything inside it (sub-folders, files and all their versions).",
      example: "true",
    }),
});
