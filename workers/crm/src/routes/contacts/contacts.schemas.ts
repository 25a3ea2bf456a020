import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";

const Tag = z.string().min(1).max(50);

export const ContactSchema = z
  .object({
    id: IdSchema,
    first_name: z.string().openapi({ example: "Ada" }),
    last_name: z.string().openapi({ example: "Lovelace" }),
    email: z.email().openapi({ example: "ada@example.com" }),
    phone: z.string().nullable().openapi({ example: "+442079460000" }),
    company: z.string().nullable().openapi({ example: "Analytical Engines Ltd" }),
    tags: z.array(z.string()).openapi({ example: ["vip"] }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Contact");

export const ContactCreateSchema = z
  .object({
    first_name: z.string().trim().min(1).max(100),
    last_name: z.string().trim().min(1).max(100),
    email: z.email().max(254).transform((e) => e.toLowerCase()),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{1,14}$/, "Phone numbers are E.164, e.g. +442079460000")
      .nullable()
      .optional(),
    company: z.string().trim().min(1).max(200).nullable().optional(),
    tags: z.array(Tag).max(20).optional(),
  })
  .strict()
  .openapi("ContactCreate", {
    example: { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone: "+442079460000", tags: ["vip"] },
  });

export const ContactUpdateSchema = ContactCreateSchema.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "Give at least one field to change." })
  .openapi("ContactUpdate", { example: { company: "Analytical Engines Ltd" } });

export const ContactListSchema = listResponseSchema(ContactSchema, "ContactList");
