import { z } from "@hono/zod-openapi";
import { PERMISSION_ACTIONS } from "@buildly/shared";
import { normalizeEmail } from "./accounts";
import { PASSWORD_RULES, passwordProblem } from "./password-policy";

/** Field schemas the identity routes share (auth, users, roles, clients, invitations). */

export const PasswordSchema = z
  .string()
  .min(10, "Passwords have at least 10 characters")
  .max(256)
  // Async (the common-password list is the credentials Worker's): route validation parses with safeParseAsync.
  .superRefine(async (password, ctx) => {
    const problem = await passwordProblem(password);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({ example: "correct horse battery", description: PASSWORD_RULES });

export const EmailSchema = z.email().max(254).transform(normalizeEmail).openapi({ example: "ada@example.com" });

export const PermissionsSchema = z
  .record(z.string(), z.array(z.enum(PERMISSION_ACTIONS)))
  .openapi("Permissions", { example: { crm: ["create", "read", "update"], documents: ["read"] } });

/** Names of roles of the caller's organization (GET /v1/roles lists them). */
export const RoleNamesSchema = z
  .array(z.string().min(1).max(40))
  .min(1, "Give at least one role")
  .max(20)
  .openapi({ example: ["editor"], description: "Role names of this organization; at least one." });
