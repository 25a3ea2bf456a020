import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { ON_DELETE_ACTIONS, RELATIONSHIP_KINDS } from "../../db/schema";

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

const ON_DELETE_DESCRIPTION =
  "What deleting a record of the side that `field` names does to the records naming it: `restrict` refuses the delete (409) while any do; " +
  "`set_null` clears the field (removes the entry from a list such as `attendees`); `cascade` deletes them; `unlink` (join_records, the only " +
  "choice there) removes the join records. Enforced by the gateway for relationships between two services, on the caller's permissions, " +
  "at most 40 referring records per delete (beyond that the delete is refused with 409). Within one service, the service's own rules apply.";
const OnDeleteSchema = z.enum(ON_DELETE_ACTIONS);

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
    on_delete: OnDeleteSchema.openapi({ description: ON_DELETE_DESCRIPTION, example: "unlink" }),
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
    on_delete: OnDeleteSchema.optional().openapi({
      description: `${ON_DELETE_DESCRIPTION} Default: \`set_null\` for kind = field, \`unlink\` for join_records.`,
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
