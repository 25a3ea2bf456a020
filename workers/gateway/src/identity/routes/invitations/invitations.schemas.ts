import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { EmailSchema } from "../../fields";

export const InvitationCreateSchema = z
  .object({ email: EmailSchema, role: z.string().min(1).max(40).openapi({ example: "editor", description: "A role name of this organization." }) })
  .strict()
  .openapi("InvitationCreate", { example: { email: "grace@example.com", role: "editor" } });

export const InvitationSchema = z
  .object({
    id: IdSchema,
    email: z.string().openapi({ example: "grace@example.com" }),
    role: z.string().openapi({ example: "editor" }),
    expires_at: TimestampSchema,
    created_at: TimestampSchema,
  })
  .openapi("Invitation");

export const CreatedInvitationSchema = InvitationSchema.extend({
  token: z.string().openapi({
    example: "q3Jk9f2mZb7Yt1xWc4Vd8Ls0Pn6Hr5Ge2Ua3Ti9Oy1E",
    description: "Shown only here. The invitee sends it as invitation_token to POST /v1/auth/register; it works once, for 7 days.",
  }),
}).openapi("CreatedInvitation");

export const InvitationListQuerySchema = PaginationQuerySchema;
export const InvitationListSchema = listResponseSchema(InvitationSchema, "InvitationList");
