import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { PermissionAction } from "@buildly/shared";

export type Permissions = Record<string, PermissionAction[]>;

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
});

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  email: text("email").notNull(),
  name: text("name").notNull(),
  password_hash: text("password_hash").notNull(),
  status: text("status", { enum: ["active", "deactivated"] })
    .notNull()
    .default("active"),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
  email_verified_at: text("email_verified_at"),
});

export const roles = sqliteTable("roles", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  name: text("name").notNull(),
  permissions: text("permissions", { mode: "json" }).$type<Permissions>().notNull(),
  builtin: integer("builtin", { mode: "boolean" }).notNull().default(false),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
});

export const userRoles = sqliteTable(
  "user_roles",
  {
    user_id: text("user_id").notNull(),
    role_id: text("role_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.user_id, t.role_id] })],
);

export const clients = sqliteTable("clients", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  name: text("name").notNull(),
  secret_hash: text("secret_hash").notNull(),
  roles: text("roles", { mode: "json" }).$type<string[]>().notNull().default([]),
  status: text("status", { enum: ["active", "revoked"] })
    .notNull()
    .default("active"),
  created_by: text("created_by"),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
  client_type: text("client_type", { enum: ["public", "confidential"] })
    .notNull()
    .default("confidential"),
  first_party: integer("first_party", { mode: "boolean" }).notNull().default(false),
  token_endpoint_auth_method: text("token_endpoint_auth_method", { enum: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] })
    .notNull()
    .default("client_secret_basic"),
  redirect_uris: text("redirect_uris", { mode: "json" }).$type<string[]>().notNull().default([]),
  post_logout_redirect_uris: text("post_logout_redirect_uris", { mode: "json" }).$type<string[]>().notNull().default([]),
  grant_types: text("grant_types", { mode: "json" }).$type<string[]>().notNull().default(["client_credentials"]),
  scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull().default(["read", "write"]),
  jwks: text("jwks", { mode: "json" }).$type<{ keys: JsonWebKey[] }>(),
});

export const invitations = sqliteTable("invitations", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  email: text("email").notNull(),
  role_id: text("role_id").notNull(),
  token_hash: text("token_hash").notNull(),
  expires_at: text("expires_at").notNull(),
  accepted_at: text("accepted_at"),
  created_by: text("created_by"),
  created_at: text("created_at").notNull(),
});

export const refreshTokens = sqliteTable("refresh_tokens", {
  id: text("id").primaryKey(),
  token_hash: text("token_hash").notNull(),
  family_id: text("family_id").notNull(),
  user_id: text("user_id").notNull(),
  organization_id: text("organization_id").notNull(),
  scope: text("scope").notNull().default(""),
  expires_at: text("expires_at").notNull(),
  created_at: text("created_at").notNull(),
  rotated_at: text("rotated_at"),
  revoked_at: text("revoked_at"),
  client_id: text("client_id"),
  /** The authentication methods of the sign-in the family descends from (NULL before migration 0010). */
  amr: text("amr", { mode: "json" }).$type<string[]>(),
});

export const authorizationCodes = sqliteTable("authorization_codes", {
  id: text("id").primaryKey(),
  code_hash: text("code_hash").notNull(),
  client_id: text("client_id").notNull(),
  user_id: text("user_id").notNull(),
  organization_id: text("organization_id").notNull(),
  redirect_uri: text("redirect_uri").notNull(),
  code_challenge: text("code_challenge").notNull(),
  scope: text("scope").notNull(),
  nonce: text("nonce"),
  auth_time: integer("auth_time").notNull(),
  amr: text("amr", { mode: "json" }).$type<string[]>().notNull(),
  expires_at: text("expires_at").notNull(),
  created_at: text("created_at").notNull(),
  used_at: text("used_at"),
  revoked_at: text("revoked_at"),
});

export const loginSessions = sqliteTable("login_sessions", {
  id: text("id").primaryKey(),
  token_hash: text("token_hash").notNull(),
  user_id: text("user_id").notNull(),
  organization_id: text("organization_id").notNull(),
  amr: text("amr", { mode: "json" }).$type<string[]>().notNull(),
  auth_time: integer("auth_time").notNull(),
  created_at: text("created_at").notNull(),
  last_seen_at: text("last_seen_at").notNull(),
  expires_at: text("expires_at").notNull(),
  revoked_at: text("revoked_at"),
});

export const consents = sqliteTable(
  "consents",
  {
    user_id: text("user_id").notNull(),
    client_id: text("client_id").notNull(),
    scope: text("scope").notNull(),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.user_id, t.client_id] })],
);

export const clientAssertions = sqliteTable("client_assertions", {
  jti_hash: text("jti_hash").primaryKey(),
  expires_at: text("expires_at").notNull(),
});

export const passwordResets = sqliteTable("password_resets", {
  id: text("id").primaryKey(),
  user_id: text("user_id").notNull(),
  token_hash: text("token_hash").notNull(),
  expires_at: text("expires_at").notNull(),
  used_at: text("used_at"),
  created_at: text("created_at").notNull(),
});

export const emailVerifications = sqliteTable("email_verifications", {
  id: text("id").primaryKey(),
  user_id: text("user_id").notNull(),
  token_hash: text("token_hash").notNull(),
  expires_at: text("expires_at").notNull(),
  used_at: text("used_at"),
  created_at: text("created_at").notNull(),
});

export const emailOutbox = sqliteTable("email_outbox", {
  id: text("id").primaryKey(),
  to_email: text("to_email").notNull(),
  subject: text("subject").notNull(),
  body: text("body").notNull(),
  status: text("status", { enum: ["pending", "sent", "failed"] })
    .notNull()
    .default("pending"),
  attempts: integer("attempts").notNull().default(0),
  created_at: text("created_at").notNull(),
  sent_at: text("sent_at"),
});

export const signingKeys = sqliteTable("signing_keys", {
  kid: text("kid").primaryKey(),
  alg: text("alg").notNull(),
  public_jwk: text("public_jwk", { mode: "json" }).$type<JsonWebKey>().notNull(),
  private_jwk_encrypted: text("private_jwk_encrypted").notNull(),
  status: text("status", { enum: ["active", "retired"] }).notNull(),
  created_at: text("created_at").notNull(),
  retired_at: text("retired_at"),
  publish_until: text("publish_until"),
});

export type UserRow = typeof users.$inferSelect;
export type RoleRow = typeof roles.$inferSelect;
export type ClientRow = typeof clients.$inferSelect;
export type AuthorizationCodeRow = typeof authorizationCodes.$inferSelect;
export type LoginSessionRow = typeof loginSessions.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
