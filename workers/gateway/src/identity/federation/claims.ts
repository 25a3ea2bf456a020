// What an upstream identity's claims say: its email domain and the roles its claims map to. Apart
// from the sign-in flow (flow.ts), so bearer-token checks (bearer.ts, used by authenticate) do not
// import the login pages and, through them, the routes that use authenticate.
import { normalizeEmail } from "../accounts";
import type { IdentityProviderRow } from "./db";

export function emailDomain(email: string): string {
  const at = email.lastIndexOf("@");
  return at < 0 ? "" : normalizeEmail(email.slice(at + 1));
}

function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** The roles a provider's claims map to (the mapping, else its default role). */
export function mappedRoles(provider: Pick<IdentityProviderRow, "role_claim" | "role_mapping" | "default_role">, claims: Record<string, unknown>): string[] {
  const values = claimList(claims[provider.role_claim]);
  const mapped = [...new Set(values.flatMap((v) => (Object.hasOwn(provider.role_mapping, v) ? [provider.role_mapping[v]!] : [])))].sort();
  if (mapped.length) return mapped;
  return provider.default_role ? [provider.default_role] : [];
}
