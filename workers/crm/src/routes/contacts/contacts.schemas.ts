import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema, sortQuerySchema } from "@buildly/shared";
import { CustomFieldsOutSchema, CustomFieldsSchema, PhoneSchema, TagsSchema, PATCH_BODY, atLeastOneField } from "../../lib/fields";

const example = {
  id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
  first_name: "Ada",
  last_name: "Lovelace",
  email: "ada@analytical.example",
  phone: "+442079460001",
  company_id: "c0a1b2c3-0000-4000-8000-00000000c001",
  tags: ["vip"],
  custom_fields: { preferred_language: "en", newsletter: true },
  created_at: "2026-01-05T09:00:00.000Z",
  updated_at: "2026-01-05T09:00:00.000Z",
};

export const ContactSchema = z
  .object({
    id: IdSchema,
    first_name: z.string(),
    last_name: z.string(),
    email: z.email(),
    phone: z.string().nullable(),
    company_id: IdSchema.nullable(),
    tags: z.array(z.string()),
    custom_fields: CustomFieldsOutSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Contact", { example });

export const ContactCreateSchema = z
  .object({
    first_name: z.string().trim().min(1).max(100),
    last_name: z.string().trim().min(1).max(100),
    email: z
      .email()
      .max(254)
      .transform((e) => e.toLowerCase())
      .openapi({ description: "Unique within the organization, compared case-insensitively (stored in lower case)." }),
    phone: PhoneSchema.nullable().optional(),
    company_id: IdSchema.nullable().optional().openapi({ description: "A company of the same organization." }),
    tags: TagsSchema.optional(),
    custom_fields: CustomFieldsSchema.optional(),
  })
  .strict()
  .openapi("ContactCreate", {
    example: {
      first_name: "Ada",
      last_name: "Lovelace",
      email: "ada@analytical.example",
      phone: "+442079460001",
      company_id: "c0a1b2c3-0000-4000-8000-00000000c001",
      tags: ["vip"],
      custom_fields: { newsletter: true },
    },
  });

export const ContactUpdateSchema = ContactCreateSchema.partial()
  .strict()
  .refine(atLeastOneField, { message: "Give at least one field to change." })
  .openapi("ContactUpdate", { ...PATCH_BODY, example: { company_id: null, tags: ["vip", "engineering"] } });

export const CONTACT_SORT_FIELDS = ["created_at", "updated_at", "first_name", "last_name", "email"] as const;

export const ContactListQuerySchema = PaginationQuerySchema.extend({
  q: z.string().trim().min(1).max(200).optional().openapi({ description: "Full-text search over names, email and phone (word prefixes, all must match)." }),
  company_id: IdSchema.optional().openapi({ description: "Only contacts of this company." }),
  tag: z.string().max(50).optional().openapi({ description: "Only contacts with this tag." }),
  sort: sortQuerySchema(CONTACT_SORT_FIELDS, "created_at"),
});

export const ContactListSchema = listResponseSchema(ContactSchema, "ContactList").openapi({ example: { data: [example], next_cursor: null } });
