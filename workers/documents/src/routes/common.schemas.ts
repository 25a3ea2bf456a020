import { z } from "@hono/zod-openapi";
import { IdSchema } from "@buildly/shared";

/** Characters a name may hold: no path separators, no control characters (a JSON Schema pattern too). */
export const NAME_PATTERN = "^[^/\\\\\\u0000-\\u001f\\u007f]*$";

/** A file or folder name: no path separators, no control characters, not "." or "..". */
export const NameSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(new RegExp(NAME_PATTERN), "Names may not hold path separators or control characters")
  .refine((n) => n !== "." && n !== "..", { message: "Not a file name" })
  .openapi({ description: 'No / or \\, no control characters, not "." or "..".', not: { enum: [".", ".."] }, example: "contract.pdf" });

/** A tag: no commas (the raw upload's ?tags= is comma-separated), no control characters, no outer spaces. */
export const TagSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\s,\u0000-\u001f\u007f](?:[^,\u0000-\u001f\u007f]*[^\s,\u0000-\u001f\u007f])?$/, "Tags hold no commas, control characters or outer spaces")
  .openapi({ example: "contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01" });

export const MAX_TAGS = 20;

/** A list of tags, duplicates dropped (first occurrence kept). */
export const TagsSchema = z
  .array(TagSchema)
  .max(MAX_TAGS)
  .transform((tags) => [...new Set(tags)])
  .openapi({ example: ["contract", "contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01"] });

/** A folder id, or "root" for the top level (used by list filters). */
export const FolderFilterSchema = z.union([z.literal("root"), IdSchema]);
