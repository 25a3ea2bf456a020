import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema, sortQuerySchema } from "@buildly/shared";
import { CustomFieldsOutSchema, CustomFieldsSchema, DomainSchema, TagsSchema, PATCH_BODY, atLeastOneField } from "../../lib/fields";

const example = {
  id: "c0a1b2c3-0000-4000-8000-00000000c001",
  name: "Analytical Engines Ltd",
  domain: "analytical.example",
  tags: ["customer"],
  custom_fields: { industry: "Manufacturing", employees: 120 },
  created_at: "2026-01-05T09:00:00.000Z",
  updated_at: "2026-01-05T09:00:00.000Z",
};

export const CompanySchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    domain: z.string().nullable(),
    tags: z.array(z.string()),
    custom_fields: CustomFieldsOutSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Company", { example });

export const CompanyCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    domain: DomainSchema.nullable().optional(),
    tags: TagsSchema.optional(),
    custom_fields: CustomFieldsSchema.optional(),
  })
  .strict()
  .openapi("CompanyCreate", {
    example: { name: "Analytical Engines Ltd", domain: "analytical.example", tags: ["customer"], custom_fields: { industry: "Manufacturing" } },
  });

export const CompanyUpdateSchema = CompanyCreateSchema.partial()
  .strict()
  .refine(atLeastOneField, { message: "Give at least one field to change." })
  .openapi("CompanyUpdate", { ...PATCH_BODY, example: { domain: "analytical-engines.example" } });

export const COMPANY_SORT_FIELDS = ["created_at", "updated_at", "name", "domain"] as const;

export const CompanyListQuerySchema = PaginationQuerySchema.extend({
  q: z.string().trim().min(1).max(200).optional().openapi({ description: "Full-text search over name and domain (word prefixes, all must match)." }),
  tag: z.string().max(50).optional().openapi({ description: "Only companies with this tag." }),
  sort: sortQuerySchema(COMPANY_SORT_FIELDS, "created_at"),
});

export const CompanyDeleteQuerySchema = z.object({
  detach: z.enum(["contacts"]).optional().openapi({
    description: "detach=contacts removes the company from its contacts (their company_id becomes null) instead of refusing the delete. Deals always block.",
  }),
});

export const CompanyListSchema = listResponseSchema(CompanySchema, "CompanyList").openapi({ example: { data: [example], next_cursor: null } });
