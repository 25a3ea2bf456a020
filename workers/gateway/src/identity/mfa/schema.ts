import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The second-factor tables (migrations/0010_second_factors.sql). */

export const totpFactors = sqliteTable("totp_factors", {
  user_id: text("user_id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  secret_sealed: text("secret_sealed").notNull(),
  confirmed_at: text("confirmed_at"),
  last_used_step: integer("last_used_step"),
  created_at: text("created_at").notNull(),
});

export const recoveryCodes = sqliteTable("recovery_codes", {
  code_hash: text("code_hash").primaryKey(),
  user_id: text("user_id").notNull(),
  used_at: text("used_at"),
  created_at: text("created_at").notNull(),
});

export const passkeys = sqliteTable("passkeys", {
  id: text("id").primaryKey(),
  user_id: text("user_id").notNull(),
  organization_id: text("organization_id").notNull(),
  name: text("name").notNull(),
  public_key: text("public_key").notNull(),
  counter: integer("counter").notNull().default(0),
  transports: text("transports", { mode: "json" }).$type<string[]>().notNull().default([]),
  backed_up: integer("backed_up", { mode: "boolean" }).notNull().default(false),
  created_at: text("created_at").notNull(),
  last_used_at: text("last_used_at"),
});

export const spentMfaTokens = sqliteTable("spent_mfa_tokens", {
  token_hash: text("token_hash").primaryKey(),
  expires_at: text("expires_at").notNull(),
});

export const secondFactorPolicies = sqliteTable("second_factor_policies", {
  organization_id: text("organization_id").primaryKey(),
  require_for_admins: integer("require_for_admins", { mode: "boolean" }).notNull().default(false),
  updated_at: text("updated_at").notNull(),
  updated_by: text("updated_by"),
});

export type PasskeyRow = typeof passkeys.$inferSelect;
