import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { RoleNamesSchema } from "../../fields";

export const ClientCreateSchema = z
  .object({ name: z.string().trim().min(1).max(200).openapi({ example: "Nightly CRM export" }), roles: RoleNamesSchema })
  .strict()
  .openapi("ClientCreate", { example: { name: "Nightly CRM export", roles: ["viewer"] } });

export const ClientSchema = z
  .object({
    client_id: IdSchema,
    name: z.string().openapi({ example: "Nightly CRM export" }),
    roles: z.array(z.string()).openapi({ example: ["viewer"] }),
    status: z.enum(["active", "revoked"]),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Client");

export const CreatedClientSchema = ClientSchema.extend({
  client_secret: z.string().openapi({
    example: "Zx8Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc1Vb3Nm5Q",
    description: "Shown only here; the gateway keeps a hash. Use it with client_id for grant_type=client_credentials (HTTP Basic).",
  }),
}).openapi("CreatedClient");

export const ClientListQuerySchema = PaginationQuerySchema;
export const ClientListSchema = listResponseSchema(ClientSchema, "ClientList");
