import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema } from "@buildly/shared";
import { EmailSchema, PasswordSchema, PermissionsSchema } from "../../fields";

const Name = z.string().trim().min(1).max(200);

export const RegisterSchema = z
  .union([
    z.object({ email: EmailSchema, password: PasswordSchema, name: Name, organization_name: Name }).strict(),
    z.object({ invitation_token: z.string().min(20).max(200), password: PasswordSchema, name: Name }).strict(),
  ])
  .openapi("Register", {
    example: { email: "ada@example.com", password: "correct horse battery", name: "Ada Lovelace", organization_name: "Analytical Engines" },
  });

export const UserSchema = z
  .object({
    id: IdSchema,
    email: z.string(),
    name: z.string(),
    status: z.enum(["active", "deactivated"]),
    roles: z.array(z.string()),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("User");

export const OrganizationSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    settings: z.record(z.string(), z.unknown()),
    rate_limits: z
      .record(z.string(), z.object({ limit: z.number().int(), window_seconds: z.number().int() }))
      .optional()
      .openapi({ description: "The limits in force for this organization (GET/PATCH /v1/organizations/current only)." }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Organization");

export const RegisteredSchema = z
  .object({
    user: UserSchema,
    organization: OrganizationSchema,
    console_client_id: z.string().openapi({
      description:
        "The organization's console client (first-party, public): sign in at /console/?client_id=<this>, or use it as client_id in the authorization code flow.",
    }),
  })
  .openapi("Registered");

export const MeSchema = z
  .object({
    kind: z.enum(["user", "client"]),
    user: UserSchema.nullable(),
    client_id: z.string().nullable(),
    organization: OrganizationSchema,
    roles: z.array(z.string()),
    permissions: PermissionsSchema,
  })
  .openapi("Me");

export const PasswordChangeSchema = z
  .object({ current_password: z.string().min(1).max(256), new_password: PasswordSchema })
  .strict()
  .openapi("PasswordChange");

export const PasswordResetRequestSchema = z.object({ email: EmailSchema }).strict().openapi("PasswordResetRequest");

export const PasswordResetConfirmSchema = z
  .object({ token: z.string().min(20).max(200), new_password: PasswordSchema })
  .strict()
  .openapi("PasswordResetConfirm");

export const EmailVerifySchema = z
  .object({ token: z.string().min(20).max(200) })
  .strict()
  .openapi("EmailVerify");
