import { z } from "@hono/zod-openapi";
import { ProblemSchema } from "@buildly/shared";

/** What a service's describe() must answer; checked at the boundary, like any input. */
export const MeshFieldSchema = z
  .object({
    name: z.string().min(1).max(200).openapi({ example: "attendees[].contact_id" }),
    type: z.enum(["uuid", "string", "text", "integer", "number", "boolean", "datetime", "date", "object", "array"]).openapi({ example: "uuid" }),
    nullable: z.boolean().optional(),
    references: z
      .object({ service: z.string().min(1).max(100), model: z.string().min(1).max(100) })
      .optional()
      .openapi({ description: "The field holds the id of a record of this service's model.", example: { service: "crm", model: "contacts" } }),
    lookup: z.boolean().optional().openapi({ description: "Records can be found by this field's values (the reverse side of a reference)." }),
  })
  .openapi("MeshField");

const ModelName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/);

const FieldName = z.string().min(1).max(200);

/** A model's privacy declaration (issue 23, docs/privacy.md): a service without one is refused. */
export const PersonalDataSchema = z
  .object({
    fields: z
      .array(FieldName)
      .max(500)
      .openapi({ description: "The catalog fields that hold personal data.", example: ["attendees[].email", "attendees[].name"] }),
    found_by: z
      .partialRecord(z.enum(["email", "contact_id", "user_id", "linked"]), FieldName)
      .openapi({ description: "How a person is found here: subject key -> the field matched.", example: { email: "attendees[].email" } }),
    erasure: z
      .discriminatedUnion("action", [
        z.object({ action: z.literal("delete") }),
        z.object({ action: z.literal("anonymize"), replace: z.record(FieldName, z.string().max(200).nullable()) }),
        z.object({ action: z.literal("keep"), legal_basis: z.string().min(1).max(500) }),
      ])
      .openapi({ description: "What erasure does to a record found for a person.", example: { action: "anonymize", replace: { "attendees[]": null } } }),
  })
  .openapi("PersonalData");

export const ServiceCatalogSchema = z.object({
  service: z.string(),
  models: z
    .array(
      z.object({
        name: ModelName,
        path: z.string().regex(/^\/[a-z0-9_\-/]*$/),
        title: z.string().min(1).max(200),
        fields: z.array(MeshFieldSchema).max(500),
        searchable: z.boolean(),
        personal_data: PersonalDataSchema,
      }),
    )
    .max(100),
});

export const MeshModelSchema = z
  .object({
    service: z.string().openapi({ example: "appointments" }),
    name: z.string().openapi({ example: "appointments" }),
    path: z.string().openapi({ description: "The collection's path under the service; a record is at `<path>/{id}`.", example: "/appointments" }),
    title: z.string().openapi({ example: "Appointment" }),
    fields: z.array(MeshFieldSchema),
    searchable: z.boolean().openapi({ description: "GET /v1/mesh/search covers this model." }),
    personal_data: PersonalDataSchema,
  })
  .openapi("MeshModel");

export const MeshErrorsSchema = z.record(z.string(), ProblemSchema).openapi({
  description: "Present only when some service could not be asked: service name -> the problem. The answer is then incomplete (`Mesh-Complete: false`).",
  example: {
    documents: {
      type: "https://buildly.dev/problems/gateway-timeout",
      title: "Gateway Timeout",
      status: 504,
      detail: "The documents service did not answer within 60000 ms.",
      request_id: "0d6f5d8e-3c1b-4d4e-9a0f-1c2b3d4e5f60",
    },
  },
});

export const MeshModelListSchema = z
  .object({
    data: z.array(MeshModelSchema),
    errors: MeshErrorsSchema.optional(),
  })
  .openapi("MeshModelList");
