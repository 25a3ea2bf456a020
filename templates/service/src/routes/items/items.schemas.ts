import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema, sortQuerySchema } from "@buildly/shared";
import { ITEM_STATUSES } from "../../db/schema";

/* The item's field schemas, in one place: the routes, the handlers and the mesh catalog read them. */

const example = {
  id: "00000000-0000-4000-8000-00000000a001",
  name: "First item",
  description: "A sample record.",
  status: "active" as const,
  contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
  tags: ["sample"],
  created_at: "2026-01-05T09:00:00.000Z",
  updated_at: "2026-01-05T09:00:00.000Z",
};

const TagsSchema = z.array(z.string().trim().min(1).max(50)).max(20).openapi({ description: "At most 20 tags of 1..50 characters." });

export const ItemSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(ITEM_STATUSES),
    contact_id: IdSchema.nullable().openapi({ description: "A contact of the CRM (crm.contacts), or null." }),
    tags: z.array(z.string()),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Item", { example });

export const ItemCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).nullable().optional(),
    status: z.enum(ITEM_STATUSES).optional().openapi({ description: "Default active." }),
    contact_id: IdSchema.nullable().optional(),
    tags: TagsSchema.optional(),
  })
  .strict()
  .openapi("ItemCreate", { example: { name: "First item", description: "A sample record.", tags: ["sample"] } });

export const ItemUpdateSchema = ItemCreateSchema.partial()
  .strict()
  .refine((o) => Object.keys(o).length > 0, { message: "Give at least one field to change." })
  .openapi("ItemUpdate", { type: "object", minProperties: 1, example: { status: "archived" } });

export const ITEM_SORT_FIELDS = ["created_at", "updated_at", "name"] as const;

export const ItemListQuerySchema = PaginationQuerySchema.extend({
  q: z.string().trim().min(1).max(200).optional().openapi({ description: "Full-text search over name and description (word prefixes, all must match)." }),
  status: z.enum(ITEM_STATUSES).optional().openapi({ description: "Only items with this status." }),
  tag: z.string().max(50).optional().openapi({ description: "Only items with this tag." }),
  contact_id: IdSchema.optional().openapi({ description: "Only items linked to this contact." }),
  sort: sortQuerySchema(ITEM_SORT_FIELDS, "created_at"),
});

export const ItemListSchema = listResponseSchema(ItemSchema, "ItemList").openapi({ example: { data: [example], next_cursor: null } });
