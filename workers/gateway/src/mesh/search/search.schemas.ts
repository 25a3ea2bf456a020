import { z } from "@hono/zod-openapi";
import { SEARCH_MAX_HITS, SEARCH_MAX_QUERY_LENGTH } from "@buildly/shared";
import { MeshErrorsSchema } from "../catalog/catalog.schemas";

/** Search pages through at most this many of the best hits (the merged window; see docs/data-mesh.md). */
export const SEARCH_WINDOW = SEARCH_MAX_HITS;

const MODEL_KEY = "[a-z][a-z0-9-]*\\.[a-z][a-z0-9_-]*";
const ModelKey = z.string().regex(new RegExp(`^${MODEL_KEY}$`), 'Name models as "service.model", e.g. crm.contacts');

export const SearchQuerySchema = z.object({
  q: z.string().trim().min(1).max(SEARCH_MAX_QUERY_LENGTH).openapi({
    description: "Words to look for; each matches the start of a word (all must match). Search syntax means nothing: it is all plain text.",
    example: "ada",
  }),
  models: z
    .string()
    .max(2000)
    .transform((v) => [
      ...new Set(
        v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
      ),
    ])
    .pipe(z.array(ModelKey).max(50))
    .optional()
    .openapi({
      description: "Comma-separated models to search, as service.model (see GET /v1/mesh/models); default every searchable model you may read.",
      pattern: `^${MODEL_KEY}(,${MODEL_KEY}){0,49}$`,
      example: "crm.contacts,documents.files,appointments.appointments",
    }),
  limit: z.coerce.number().int().min(1).max(SEARCH_WINDOW).default(20).openapi({ example: 20 }),
  cursor: z.string().max(200).optional().openapi({ minLength: 1, description: "Opaque cursor from a previous page's next_cursor (same q and models)." }),
});

export const MeshSearchHitSchema = z
  .object({
    id: z.string().openapi({ example: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01" }),
    service: z.string().openapi({ example: "crm" }),
    model: z.string().openapi({ example: "contacts" }),
    name: z.string().openapi({ example: "Ada Lovelace" }),
    type: z.string().openapi({ description: "What it is, for display.", example: "contact" }),
    description: z.string().nullable().openapi({ example: "ada@analytical.example" }),
    url: z.string().openapi({ description: "The record through the gateway.", example: "/v1/crm/contacts/6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01" }),
    score: z.number().openapi({
      description: "0..1, computed the same way by every service: 1 for the exact name, 0.9 for a name starting with the query, less for partial matches.",
      example: 0.9,
    }),
  })
  .openapi("MeshSearchHit");

export const MeshSearchResultSchema = z
  .object({
    data: z.array(MeshSearchHitSchema),
    next_cursor: z.string().nullable(),
    errors: MeshErrorsSchema.optional(),
  })
  .openapi("MeshSearchResult");

/** What one service's search() must answer; checked at the boundary. */
export const ServiceHitsSchema = z
  .array(
    z.object({
      id: z.string().min(1).max(200),
      model: z.string().min(1).max(100),
      name: z.string().max(2000),
      type: z.string().max(100),
      description: z.string().max(2000).nullable(),
      score: z.number().min(0).max(1),
    }),
  )
  .max(SEARCH_MAX_HITS);
