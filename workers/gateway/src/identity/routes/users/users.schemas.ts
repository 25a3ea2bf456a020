import { z } from "@hono/zod-openapi";
import { PaginationQuerySchema, listResponseSchema } from "@buildly/shared";
import { EmailSchema, PasswordSchema, RoleNamesSchema } from "../../fields";
import { UserSchema } from "../auth/auth.schemas";

export { UserSchema };

const USER_STATUSES = ["active", "deactivated"] as const;

export const UserCreateSchema = z
  .object({ email: EmailSchema, name: z.string().trim().min(1).max(200), password: PasswordSchema, roles: RoleNamesSchema })
  .strict()
  .openapi("UserCreate", { example: { email: "grace@example.com", name: "Grace Hopper", password: "correct horse battery", roles: ["editor"] } });

export const UserUpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(USER_STATUSES).optional().openapi({ description: "deactivated: the user can no longer log in and every refresh token is revoked at once." }),
  })
  .strict()
  .refine((v) => v.name !== undefined || v.status !== undefined, { message: "Send name, status or both" })
  .openapi("UserUpdate", { minProperties: 1, example: { status: "deactivated" } });

export const UserRolesSchema = z
  .object({ roles: RoleNamesSchema })
  .strict()
  .openapi("UserRoles", { example: { roles: ["viewer"] } });

export const UserListQuerySchema = PaginationQuerySchema.extend({
  status: z.enum(USER_STATUSES).optional().openapi({ description: "Only users with this status." }),
});

export const UserListSchema = listResponseSchema(UserSchema, "UserList");
