import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";

/** How many upstream providers one organization may connect. */
export const MAX_PROVIDERS = 20;

const DomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "A domain name such as example.com")
  .openapi({ example: "example.com" });

const RoleNameSchema = z.string().min(1).max(40);

const IssuerSchema = z
  .string()
  .trim()
  .max(500)
  .refine((s) => URL.canParse(s) && !new URL(s).search && !new URL(s).hash, "An absolute URL without query or fragment")
  .transform((s) => s.replace(/\/+$/, ""))
  .openapi({
    example: "https://accounts.google.com",
    description:
      "The provider's issuer; its discovery document (<issuer>/.well-known/openid-configuration) is read and must name exactly this issuer. https only (http on loopback in local development).",
  });

const fields = {
  name: z.string().trim().min(1).max(100).openapi({ example: "Google Workspace", description: 'Shown on the login page: "Continue with <name>".' }),
  issuer: IssuerSchema,
  client_id: z.string().trim().min(1).max(255).openapi({ description: "The client id this platform has at the provider." }),
  client_secret: z.string().min(1).max(1024).openapi({ description: "The client secret at the provider: stored encrypted, never answered." }),
  allowed_domains: z.array(DomainSchema).min(1).max(20).openapi({
    description:
      "Email domains this provider signs in; an upstream identity with another domain is refused. Emails of these domains are offered the provider on the login page (home realm discovery).",
  }),
  role_claim: z.string().trim().min(1).max(100).openapi({ description: "The ID token claim whose values are mapped to roles (default groups)." }),
  role_mapping: z
    .record(z.string().min(1).max(200), RoleNameSchema)
    .refine((m) => Object.keys(m).length <= 50, "At most 50 mapped values")
    .openapi({ description: "Values of role_claim -> role names of this organization.", example: { "buildly-admins": "admin", staff: "editor" } }),
  default_role: RoleNameSchema.nullable().openapi({
    description: "The role of a provisioned user none of whose claim values is mapped; null: such a user is refused.",
  }),
  jit_provisioning: z
    .boolean()
    .openapi({ description: "Create an account at the first sign-in (with the mapped role); off: only linked or invited users sign in." }),
};

export const IdentityProviderCreateSchema = z
  .object({
    ...fields,
    role_claim: fields.role_claim.default("groups"),
    role_mapping: fields.role_mapping.default({}),
    default_role: fields.default_role.default(null),
    jit_provisioning: fields.jit_provisioning.default(false),
  })
  .strict()
  .openapi("IdentityProviderCreate", {
    example: {
      name: "Okta",
      issuer: "https://example.okta.com",
      client_id: "0oa1b2c3d4",
      client_secret: "…",
      allowed_domains: ["example.com"],
      role_claim: "groups",
      role_mapping: { "buildly-admins": "admin" },
      default_role: "viewer",
      jit_provisioning: true,
    } as never,
  });

export const IdentityProviderUpdateSchema = z
  .object({
    name: fields.name.optional(),
    issuer: fields.issuer.optional(),
    client_id: fields.client_id.optional(),
    client_secret: fields.client_secret.optional(),
    allowed_domains: fields.allowed_domains.optional(),
    role_claim: fields.role_claim.optional(),
    role_mapping: fields.role_mapping.optional(),
    default_role: fields.default_role.optional(),
    jit_provisioning: fields.jit_provisioning.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "Send at least one field" })
  .openapi("IdentityProviderUpdate", { minProperties: 1 });

export const IdentityProviderSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    issuer: z.string(),
    client_id: z.string(),
    allowed_domains: z.array(z.string()),
    role_claim: z.string(),
    role_mapping: z.record(z.string(), z.string()),
    default_role: z.string().nullable(),
    jit_provisioning: z.boolean(),
    redirect_uri: z.string().openapi({ description: "The callback to register at the provider as this client's redirect URI." }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("IdentityProvider");

export const IdentityProviderListSchema = listResponseSchema(IdentityProviderSchema, "IdentityProviderList");

export const SsoPolicySchema = z
  .object({
    require_sso: z.boolean().openapi({
      description: "Users of the organization sign in only through a connected provider; administrators keep their password (break-glass, audited).",
    }),
  })
  .strict()
  .openapi("SsoPolicy");
