import { z } from "@hono/zod-openapi";
import { IdSchema, PERMISSION_ACTIONS, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { PermissionsSchema } from "../../fields";

export const RoleSchema = z
  .object({
    id: IdSchema,
    name: z.string().openapi({ example: "sales" }),
    permissions: PermissionsSchema,
    builtin: z.boolean().openapi({ description: "admin, editor and viewer come with every organization and cannot be changed." }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Role");

export const RoleListSchema = listResponseSchema(RoleSchema, "RoleList");

const RolePermissionsInput = z
  .record(z.string().min(1).max(40), z.array(z.enum(PERMISSION_ACTIONS)).min(1).max(PERMISSION_ACTIONS.length))
  .refine((p) => Object.keys(p).length <= 50, { message: "At most 50 services" })
  // Named so the document can list the registered services as its keys (api-docs/openapi.ts).
  .openapi("RolePermissionsInput", {
    maxProperties: 50,
    description:
      'Keys are "*" (every service behind the gateway), names of registered services (see GET /v1/services), or `workflows` (the gateway\'s workflows: read, create to start instances, update to take transitions).',
    example: { crm: ["create", "read", "update"], documents: ["read"] },
  });

export const RoleCreateSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{1,39}$/, "2 to 40 characters: a lower-case letter, then lower-case letters, digits, _ or -")
      .openapi({ example: "sales" }),
    permissions: RolePermissionsInput,
  })
  .strict()
  .openapi("RoleCreate", { example: { name: "sales", permissions: { crm: ["create", "read", "update"], documents: ["read"] } } });

// The name is not changeable: access tokens and machine clients carry role names, so a renamed
// role would silently change what they grant. Create a new role instead.
export const RoleUpdateSchema = z
  .object({ permissions: RolePermissionsInput })
  .strict()
  .openapi("RoleUpdate", { example: { permissions: { crm: ["read"] } } });
