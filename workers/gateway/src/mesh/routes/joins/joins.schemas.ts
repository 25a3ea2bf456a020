import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";

const RelationshipRefSchema = z
  .string()
  .min(1)
  .max(63)
  .openapi({ description: "The relationship's id, or its key (when only one join_records relationship has that key).", example: "documents" });

const EndSchema = z.object({
  service: z.string().openapi({ example: "crm" }),
  model: z.string().openapi({ example: "contacts" }),
  id: IdSchema,
});

export const JoinSchema = z
  .object({
    id: IdSchema,
    relationship_id: IdSchema,
    relationship_key: z.string().openapi({ example: "documents" }),
    origin: EndSchema,
    related: EndSchema.openapi({ example: { service: "documents", model: "files", id: "d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01" } }),
    created_at: TimestampSchema,
  })
  .openapi("MeshJoin");

export const JoinListSchema = listResponseSchema(JoinSchema, "MeshJoinList");

export const JoinCreateSchema = z
  .object({ relationship: RelationshipRefSchema, origin_id: IdSchema, related_id: IdSchema })
  .strict()
  .openapi("MeshJoinCreate", {
    example: { relationship: "documents", origin_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", related_id: "d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01" },
  });

export const JoinListQuerySchema = PaginationQuerySchema.extend({
  relationship: RelationshipRefSchema.optional(),
  origin_id: IdSchema.optional().openapi({ param: { name: "origin_id", in: "query" } }),
  related_id: IdSchema.optional().openapi({ param: { name: "related_id", in: "query" } }),
});
