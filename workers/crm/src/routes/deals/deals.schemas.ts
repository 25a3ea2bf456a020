import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema, sortQuerySchema } from "@buildly/shared";
import { CurrencySchema, DateSchema, PATCH_BODY, SAME_ORGANIZATION, atLeastOneField } from "../../lib/fields";
import { StageIdSchema } from "../pipelines/pipelines.schemas";

const example = {
  id: "dea10000-0000-4000-8000-000000000001",
  title: "Difference Engine No. 2 maintenance contract",
  amount: 1250000,
  currency: "GBP",
  pipeline_id: "5ce69a22-6b10-57d8-912d-61145853291f",
  stage: "proposal",
  contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
  company_id: "c0a1b2c3-0000-4000-8000-00000000c001",
  expected_close_date: "2026-12-15",
  created_at: "2026-01-10T09:00:00.000Z",
  updated_at: "2026-01-10T09:00:00.000Z",
};

export const DealSchema = z
  .object({
    id: IdSchema,
    title: z.string(),
    amount: z.number().int().openapi({ description: "In minor units of the currency (pence for GBP)." }),
    currency: z.string().openapi({ description: "ISO 4217 code." }),
    pipeline_id: IdSchema,
    stage: z.string().openapi({ description: "The id of one of the pipeline's stages." }),
    contact_id: IdSchema.nullable(),
    company_id: IdSchema.nullable(),
    expected_close_date: z.string().nullable().openapi({ example: "2026-12-15" }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Deal", { example });

const Amount = z
  .number()
  .int("Amounts are integers in minor units (e.g. cents)")
  .min(0)
  .max(Number.MAX_SAFE_INTEGER)
  .openapi({ example: 1250000, description: "In minor units of the currency (cents for EUR, yen for JPY)." });

export const DealCreateSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    amount: Amount,
    currency: CurrencySchema,
    pipeline_id: IdSchema.optional().openapi({ description: `Defaults to the organization's default pipeline. ${SAME_ORGANIZATION}` }),
    stage: StageIdSchema.optional().openapi({ description: "A stage of the pipeline; defaults to its first stage." }),
    contact_id: IdSchema.nullable().optional().openapi({ description: SAME_ORGANIZATION }),
    company_id: IdSchema.nullable().optional().openapi({ description: SAME_ORGANIZATION }),
    expected_close_date: DateSchema.nullable().optional(),
  })
  .strict()
  .openapi("DealCreate", {
    example: {
      title: "Difference Engine No. 2 maintenance contract",
      amount: 1250000,
      currency: "GBP",
      stage: "proposal",
      contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
      company_id: "c0a1b2c3-0000-4000-8000-00000000c001",
      expected_close_date: "2026-12-15",
    },
  });

export const DealUpdateSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    amount: Amount,
    currency: CurrencySchema,
    pipeline_id: IdSchema.openapi({ description: "Moving to another pipeline: the stage (given or current) must be one of its stages." }),
    stage: StageIdSchema,
    contact_id: IdSchema.nullable().openapi({ description: SAME_ORGANIZATION }),
    company_id: IdSchema.nullable().openapi({ description: SAME_ORGANIZATION }),
    expected_close_date: DateSchema.nullable(),
  })
  .partial()
  .strict()
  .refine(atLeastOneField, { message: "Give at least one field to change." })
  .openapi("DealUpdate", { ...PATCH_BODY, example: { stage: "negotiation", amount: 1400000 } });

export const DEAL_SORT_FIELDS = ["created_at", "updated_at", "title", "amount", "expected_close_date"] as const;

export const DealListQuerySchema = PaginationQuerySchema.extend({
  q: z.string().trim().min(1).max(200).optional().openapi({ description: "Full-text search over the title (word prefixes, all must match)." }),
  pipeline_id: IdSchema.optional(),
  stage: StageIdSchema.optional(),
  contact_id: IdSchema.optional(),
  company_id: IdSchema.optional(),
  sort: sortQuerySchema(DEAL_SORT_FIELDS, "created_at"),
});

export const DealListSchema = listResponseSchema(DealSchema, "DealList").openapi({ example: { data: [example], next_cursor: null } });
