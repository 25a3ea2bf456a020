import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { RELATIONSHIP_KINDS } from "../../db/schema";

export const KEY_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

export const RelationshipKeySchema = z
  .string()
  .regex(KEY_PATTERN, "1 to 63 characters: a lower-case letter, then lower-case letters, digits or _")
  .openapi({ example: "documents" });

export const ModelRefSchema = z
  .object({
    service: z.string().min(1).max(40).openapi({ example: "crm" }),
    model: z.string().min(1).max(63).openapi({ example: "contacts" }),
  })
  .strict()
  .openapi("MeshModelRef", { description: "A model of a service, by the names of the mesh catalog." });

const FieldSideSchema = z.enum(["origin", "related"]);

export const RelationshipSchema = z
  .object({
    id: IdSchema,
    key: RelationshipKeySchema.openapi({ description: "The related records' name on an origin record: `?join=<key>` on the origin model." }),
    reverse_key: RelationshipKeySchema.openapi({
      description: "The origin records' name on a related record: `?join=<reverse_key>` on the related model.",
      example: "contacts",
    }),
    origin: ModelRefSchema,
    related: ModelRefSchema,
    kind: z.enum(RELATIONSHIP_KINDS).openapi({
      description: "`join_records`: links stored by the gateway (POST /v1/mesh/joins). `field`: a field of one side holds the other side's id.",
    }),
    field: z.string().nullable().openapi({ description: "kind = field: the field holding the id (`attendees[].contact_id` walks a list).", example: null }),
    field_on: FieldSideSchema.nullable().openapi({ description: "kind = field: which side's model holds `field`.", example: null }),
    builtin: z.boolean().openapi({ description: "A platform default, in force for every organization; it cannot be deleted." }),
    created_at: TimestampSchema,
  })
  .openapi("MeshRelationship");

export const RelationshipListSchema = listResponseSchema(RelationshipSchema, "MeshRelationshipList");

export const RelationshipCreateSchema = z
  .object({
    key: RelationshipKeySchema,
    reverse_key: RelationshipKeySchema.openapi({ example: "contacts" }),
    origin: ModelRefSchema,
    related: ModelRefSchema,
    kind: z.enum(RELATIONSHIP_KINDS),
    field: z.string().min(1).max(200).optional().openapi({ description: "Required for kind = field; absent for join_records." }),
    field_on: FieldSideSchema.optional().openapi({
      description: "Which side holds `field`. Optional: by default the side whose model has the field (the origin when both do).",
    }),
  })
  .strict()
  .openapi("MeshRelationshipCreate", {
    example: {
      key: "documents",
      reverse_key: "companies",
      origin: { service: "crm", model: "companies" },
      related: { service: "documents", model: "files" },
      kind: "join_records",
    },
  });
