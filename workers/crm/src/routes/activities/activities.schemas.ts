import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema, sortQuerySchema } from "@buildly/shared";
import { ACTIVITY_TYPES } from "../../db/schema";
import { PATCH_BODY, SAME_ORGANIZATION, UtcInstantSchema, atLeastOneField } from "../../lib/fields";

const example = {
  id: "ac710000-0000-4000-8000-000000000001",
  type: "call",
  contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
  company_id: "c0a1b2c3-0000-4000-8000-00000000c001",
  deal_id: null,
  occurred_at: "2026-01-12T15:30:00.000Z",
  body: "Discussed the maintenance schedule; Ada will send the spec.",
  created_at: "2026-01-12T15:45:00.000Z",
  updated_at: "2026-01-12T15:45:00.000Z",
};

const ActivityType = z.enum(ACTIVITY_TYPES).openapi({ example: "call" });

export const ActivitySchema = z
  .object({
    id: IdSchema,
    type: ActivityType,
    contact_id: IdSchema.nullable(),
    company_id: IdSchema.nullable(),
    deal_id: IdSchema.nullable(),
    occurred_at: TimestampSchema,
    body: z.string(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Activity", { example });

const LINK_MESSAGE = "An activity is linked to at least one of contact_id, company_id or deal_id";
const LINKS = ["contact_id", "company_id", "deal_id"] as const;

export const ActivityCreateSchema = z
  .object({
    type: ActivityType,
    contact_id: IdSchema.nullable().optional().openapi({ description: SAME_ORGANIZATION }),
    company_id: IdSchema.nullable().optional().openapi({ description: SAME_ORGANIZATION }),
    deal_id: IdSchema.nullable().optional().openapi({ description: SAME_ORGANIZATION }),
    occurred_at: UtcInstantSchema.optional().openapi({ description: "When it happened (RFC 3339, UTC); defaults to now." }),
    body: z.string().trim().min(1).max(20000),
  })
  .strict()
  .refine((a) => Boolean(a.contact_id || a.company_id || a.deal_id), { message: LINK_MESSAGE, path: ["contact_id"] })
  .openapi("ActivityCreate", {
    description: "Linked to at least one of contact_id, company_id or deal_id (a record of the same organization; null does not count).",
    anyOf: LINKS.map((link) => ({ required: [link], properties: { [link]: { type: "string" } } })),
    example: {
      type: "call",
      contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
      company_id: "c0a1b2c3-0000-4000-8000-00000000c001",
      occurred_at: "2026-01-12T15:30:00.000Z",
      body: "Discussed the maintenance schedule; Ada will send the spec.",
    },
  });

export const ActivityUpdateSchema = z
  .object({
    type: ActivityType,
    contact_id: IdSchema.nullable().openapi({ description: SAME_ORGANIZATION }),
    company_id: IdSchema.nullable().openapi({ description: SAME_ORGANIZATION }),
    deal_id: IdSchema.nullable().openapi({ description: SAME_ORGANIZATION }),
    occurred_at: UtcInstantSchema,
    body: z.string().trim().min(1).max(20000),
  })
  .partial()
  .strict()
  .refine(atLeastOneField, { message: "Give at least one field to change." })
  .openapi("ActivityUpdate", {
    ...PATCH_BODY,
    description: `${PATCH_BODY.description} The activity must still be linked to a contact, company or deal afterwards (else 422).`,
    example: { body: "Spec received.", deal_id: "dea10000-0000-4000-8000-000000000001" },
  });

export { LINK_MESSAGE };

export const ACTIVITY_SORT_FIELDS = ["occurred_at", "created_at", "updated_at"] as const;

export const ActivityListQuerySchema = PaginationQuerySchema.extend({
  contact_id: IdSchema.optional(),
  company_id: IdSchema.optional(),
  deal_id: IdSchema.optional(),
  type: ActivityType.optional(),
  sort: sortQuerySchema(ACTIVITY_SORT_FIELDS, "-occurred_at"),
});

export const ActivityListSchema = listResponseSchema(ActivitySchema, "ActivityList").openapi({ example: { data: [example], next_cursor: null } });
