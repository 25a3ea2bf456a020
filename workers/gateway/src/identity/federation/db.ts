import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Upstream OpenID providers an organization connected (migration 0009). */
export const identityProviders = sqliteTable("identity_providers", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  name: text("name").notNull(),
  issuer: text("issuer").notNull(),
  client_id: text("client_id").notNull(),
  client_secret_sealed: text("client_secret_sealed").notNull(),
  allowed_domains: text("allowed_domains", { mode: "json" }).$type<string[]>().notNull(),
  role_claim: text("role_claim").notNull(),
  role_mapping: text("role_mapping", { mode: "json" }).$type<Record<string, string>>().notNull(),
  default_role: text("default_role"),
  jit_provisioning: integer("jit_provisioning", { mode: "boolean" }).notNull(),
  created_at: text("created_at").notNull(),
  updated_at: text("updated_at").notNull(),
});

/** Accounts linked to an upstream identity, keyed by the provider and the upstream `sub`. */
export const federatedIdentities = sqliteTable(
  "federated_identities",
  {
    provider_id: text("provider_id").notNull(),
    subject: text("subject").notNull(),
    issuer: text("issuer").notNull(),
    organization_id: text("organization_id").notNull(),
    user_id: text("user_id").notNull(),
    email: text("email"),
    created_at: text("created_at").notNull(),
    last_login_at: text("last_login_at"),
  },
  (t) => [primaryKey({ columns: [t.provider_id, t.subject] })],
);

/** Upstream sign-ins in progress (single use). */
export const federationStates = sqliteTable("federation_states", {
  id: text("id").primaryKey(),
  state_hash: text("state_hash").notNull(),
  provider_id: text("provider_id").notNull(),
  organization_id: text("organization_id").notNull(),
  stage: text("stage", { enum: ["upstream", "link"] }).notNull(),
  nonce: text("nonce").notNull(),
  code_verifier: text("code_verifier").notNull(),
  request: text("request", { mode: "json" }).$type<Record<string, string>>().notNull(),
  subject: text("subject"),
  email: text("email"),
  link_user_id: text("link_user_id"),
  expires_at: text("expires_at").notNull(),
  used_at: text("used_at"),
  created_at: text("created_at").notNull(),
});

/** The one organization column this room owns: whether its users must sign in through SSO. */
export const organizationSso = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  require_sso: integer("require_sso", { mode: "boolean" }).notNull(),
  updated_at: text("updated_at").notNull(),
});

export type IdentityProviderRow = typeof identityProviders.$inferSelect;
export type FederationStateRow = typeof federationStates.$inferSelect;
