import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { roleNamesOf } from "../accounts";
import type { AuthConfig } from "../config";
import { db } from "../db/client";
import type { UserRow } from "../db/schema";
import { isAdmin } from "../rbac";
import { escapeHtml, hiddenFields } from "../signin/pages";
import { type AuthorizationRequest, csrfToken } from "../signin/request";
import type { GatewayEnv } from "../../types";
import { identityProviders, organizationSso, type IdentityProviderRow } from "./db";
import { emailDomain } from "./claims";
import { discover } from "./upstream";

/**
 * What the hosted login page asks of single sign-on: the "Continue with <provider>" forms it
 * shows, and whether a password may sign a user in (the organization may require SSO). The flow
 * behind those forms is flow.ts.
 */

export const START_PATH = "/v1/auth/federation/start";
export const CALLBACK_PATH = "/v1/auth/federation/callback";
export const LINK_PATH = "/v1/auth/federation/link";
export async function providersOf(d1: D1Database, organizationId: string): Promise<IdentityProviderRow[]> {
  return db(d1).select().from(identityProviders).where(eq(identityProviders.organization_id, organizationId));
}

export async function requiresSso(d1: D1Database, organizationId: string): Promise<boolean> {
  const row = await db(d1).select({ r: organizationSso.require_sso }).from(organizationSso).where(eq(organizationSso.id, organizationId)).get();
  return Boolean(row?.r);
}

/**
 * Whether `user` may sign in with a password: refused (with the reason) when the organization
 * requires SSO, unless the user is an administrator (break-glass, marked in the login event).
 */
export async function passwordSignInPolicy(
  d1: D1Database,
  user: UserRow,
): Promise<{ allowed: true; breakGlass: boolean } | { allowed: false; reason: string }> {
  if (!(await requiresSso(d1, user.organization_id))) return { allowed: true, breakGlass: false };
  if (isAdmin(await roleNamesOf(d1, user.id))) return { allowed: true, breakGlass: true };
  return { allowed: false, reason: "Your organization signs in with its identity provider only: use the single sign-on button, not a password." };
}

/**
 * The login page's single sign-on part: a "Continue with <provider>" form for each provider the
 * email's domain belongs to, or the one `idp_hint` names, or every one when the organization
 * requires SSO; and the origins those forms may redirect to (the page's CSP form-action).
 */
export async function federationOptions(
  c: Context<GatewayEnv>,
  cfg: AuthConfig,
  req: AuthorizationRequest,
  email: string,
  csrf: string = csrfToken(c, cfg),
): Promise<{ html: string; formTargets: string[]; requireSso: boolean }> {
  const all = await providersOf(c.env.DB, req.client.organization_id);
  if (all.length === 0) return { html: "", formTargets: [], requireSso: false };
  const requireSso = await requiresSso(c.env.DB, req.client.organization_id);
  const domain = emailDomain(email);
  const hint = req.raw.idp_hint;
  const offered = all.filter((p) => requireSso || (domain && p.allowed_domains.includes(domain)) || (hint && (hint === p.id || hint === p.issuer)));
  const forms: string[] = [];
  const targets: string[] = [];
  for (const p of offered) {
    try {
      targets.push(new URL((await discover(p.issuer, cfg.issuer)).authorization_endpoint).origin);
    } catch {
      continue; // a provider that cannot be reached now is not offered
    }
    forms.push(`<form method="post" action="${START_PATH}">
${hiddenFields({ ...req.raw, csrf, provider: p.id, email })}<button type="submit" class="sso">Continue with ${escapeHtml(p.name)}</button></form>`);
  }
  return { html: forms.join("\n"), formTargets: targets, requireSso };
}
