import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { RoleNamesSchema } from "../../fields";
import { SCOPE_NAMES } from "../../scopes";

export const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "password"] as const;
export const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] as const;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * A redirect URI a client may register: absolute, no fragment, no credentials; https, http on
 * a loopback address (native apps, RFC 8252 7.3), or a private-use scheme with a dot (RFC 8252 7.1).
 */
const RedirectUriSchema = z
  .string()
  .max(2000)
  .refine((s) => {
    if (!URL.canParse(s)) return false;
    const u = new URL(s);
    if (u.hash || s.includes("#") || u.username || u.password) return false;
    if (u.protocol === "https:") return true;
    if (u.protocol === "http:") return LOOPBACK_HOSTS.has(u.hostname);
    return /^[a-z][a-z0-9+\-.]*\.[a-z0-9+\-.]+:$/.test(u.protocol) && !["javascript:", "data:", "file:", "vbscript:"].includes(u.protocol);
  }, "An absolute https URL, an http loopback URL, or a private-use scheme with a dot (com.example.app:/cb); no fragment, no credentials")
  .openapi({ example: "https://app.example.com/callback" });

const JwksSchema = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(10) })
  .openapi({ description: "The client's public keys (JWKS) for private_key_jwt." });

export const ClientCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200).openapi({ example: "Nightly CRM export" }),
    roles: RoleNamesSchema.optional().openapi({
      description: "Role names the client acts with under client_credentials (required for it, at least one); other grants act as the signed-in user.",
    }),
    client_type: z.enum(["public", "confidential"]).default("confidential").openapi({
      description: "public: a browser or native app, no secret, PKCE only (token_endpoint_auth_method none). confidential: holds a secret or a key.",
    }),
    token_endpoint_auth_method: z.enum(AUTH_METHODS).optional().openapi({
      description: "How the client authenticates at the token endpoint. Default: none for public clients, client_secret_basic (Basic or post) otherwise.",
    }),
    grant_types: z
      .array(z.enum(GRANT_TYPES))
      .min(1)
      .max(4)
      .default(["client_credentials"])
      .openapi({ description: "Grants the client may use. password is legacy (OAuth 2.1 drops it)." }),
    redirect_uris: z
      .array(RedirectUriSchema)
      .max(10)
      .default([])
      .openapi({ description: "Matched exactly; a loopback IP URI matches on any port (RFC 8252)." }),
    post_logout_redirect_uris: z.array(RedirectUriSchema).max(10).default([]),
    scopes: z
      .array(z.enum(SCOPE_NAMES as [string, ...string[]]))
      .min(1)
      .optional()
      .openapi({ description: "Scopes the client may ask for; default every scope its grants allow." }),
    jwks: JwksSchema.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.grant_types.includes("client_credentials") && !v.roles?.length)
      ctx.addIssue({ code: "custom", path: ["roles"], message: "client_credentials needs at least one role" });
    if (!v.grant_types.includes("client_credentials") && v.roles?.length)
      ctx.addIssue({ code: "custom", path: ["roles"], message: "Roles are for client_credentials only" });
    if (v.grant_types.includes("authorization_code") && v.redirect_uris.length === 0)
      ctx.addIssue({ code: "custom", path: ["redirect_uris"], message: "authorization_code needs at least one redirect URI" });
    if (v.grant_types.includes("refresh_token") && !v.grant_types.includes("authorization_code") && !v.grant_types.includes("password"))
      ctx.addIssue({ code: "custom", path: ["grant_types"], message: "refresh_token comes with authorization_code or password" });
    if (v.client_type === "public") {
      if (v.token_endpoint_auth_method && v.token_endpoint_auth_method !== "none")
        ctx.addIssue({ code: "custom", path: ["token_endpoint_auth_method"], message: "A public client authenticates with none (PKCE)" });
      if (v.grant_types.includes("client_credentials"))
        ctx.addIssue({ code: "custom", path: ["grant_types"], message: "A public client cannot use client_credentials" });
    } else if (v.token_endpoint_auth_method === "none") {
      ctx.addIssue({ code: "custom", path: ["token_endpoint_auth_method"], message: "A confidential client authenticates (a secret or private_key_jwt)" });
    }
    if ((v.token_endpoint_auth_method === "private_key_jwt") !== Boolean(v.jwks))
      ctx.addIssue({ code: "custom", path: ["jwks"], message: "jwks is given exactly when token_endpoint_auth_method is private_key_jwt" });
  })
  .openapi("ClientCreate", {
    example: {
      name: "Team planner (SPA)",
      client_type: "public",
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: ["https://planner.example.com/callback"],
    } as never,
  });

export const ClientSchema = z
  .object({
    client_id: IdSchema,
    name: z.string().openapi({ example: "Nightly CRM export" }),
    roles: z.array(z.string()).openapi({ example: ["viewer"] }),
    status: z.enum(["active", "revoked"]),
    client_type: z.enum(["public", "confidential"]),
    first_party: z.boolean().openapi({ description: "The platform's own console client (one per organization; no consent screen)." }),
    token_endpoint_auth_method: z.enum(AUTH_METHODS),
    grant_types: z.array(z.string()),
    redirect_uris: z.array(z.string()),
    post_logout_redirect_uris: z.array(z.string()),
    scopes: z.array(z.string()),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Client");

export const CreatedClientSchema = ClientSchema.extend({
  client_secret: z.string().optional().openapi({
    example: "Zx8Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc1Vb3Nm5Q",
    description:
      "Confidential clients with a secret only: shown only here; the gateway keeps a hash. HTTP Basic (or client_secret_post) at the token endpoint.",
  }),
}).openapi("CreatedClient");

export const ClientListQuerySchema = PaginationQuerySchema;
export const ClientListSchema = listResponseSchema(ClientSchema, "ClientList");
