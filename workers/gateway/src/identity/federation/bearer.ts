import { and, eq } from "drizzle-orm";
import type { AuthConfig } from "../config";
import { db } from "../db/client";
import { users } from "../db/schema";
import { InvalidTokenError, type Principal } from "../tokens";
import { federatedIdentities, identityProviders } from "./db";
import { emailDomain, mappedRoles } from "./claims";

/**
 * Tokens of a trusted external issuer (TRUSTED_ISSUERS) used directly as bearer tokens, under
 * the rules of federated sign-in when the organization they name connected that issuer as an
 * identity provider: an upstream iss + sub linked to an account acts as that account (its roles
 * and status now, as our own tokens); otherwise the provider's claim-to-role mapping gives the
 * roles, and an email claim, if any, must be of an allowed domain. An organization that did not
 * connect the issuer keeps the operator's rule (the roles claim of TRUSTED_ISSUERS). The token's
 * scope is checked in every case (authenticate.ts).
 */
export async function federatedBearer(d1: D1Database, cfg: AuthConfig, token: Principal): Promise<Principal> {
  if (token.issuer === cfg.issuer) return token;
  const d = db(d1);
  const provider = await d
    .select()
    .from(identityProviders)
    .where(and(eq(identityProviders.organization_id, token.organization_id), eq(identityProviders.issuer, token.issuer)))
    .get();
  if (!provider) return token;
  const sub = String(token.claims?.sub ?? "");
  const link = await d
    .select({ user_id: users.id })
    .from(federatedIdentities)
    .innerJoin(users, eq(users.id, federatedIdentities.user_id))
    .where(and(eq(federatedIdentities.provider_id, provider.id), eq(federatedIdentities.subject, sub), eq(users.organization_id, provider.organization_id)))
    .get();
  // Acts as the linked account: authenticate.ts reads its roles and status like those of our own tokens.
  if (link) return { kind: "user", subject: link.user_id, organization_id: provider.organization_id, roles: [], scope: token.scope, issuer: cfg.issuer };
  const claims = token.claims ?? {};
  if (typeof claims.email === "string" && !provider.allowed_domains.includes(emailDomain(claims.email))) {
    throw new InvalidTokenError("The token's email domain may not act in this organization.");
  }
  if (claims.email_verified === false) throw new InvalidTokenError("The token's email is not verified.");
  return { ...token, roles: mappedRoles(provider, claims) };
}
