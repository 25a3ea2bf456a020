import type { PermissionAction } from "@buildly/shared";
import { OAuthError } from "./oauth-errors";

/**
 * The OAuth2 scopes the gateway grants (RFC 6749 3.3), in the order it writes them. A scope
 * narrows what the roles allow, never widens it: `read` is needed for GET and HEAD, `write`
 * for every other method, on the services and on the gateway's own routes alike.
 */
export const SCOPES = {
  openid: "OpenID Connect: who you are (an ID token, GET /v1/auth/userinfo)",
  profile: "OpenID Connect: your name (GET /v1/auth/userinfo)",
  email: "OpenID Connect: your email (GET /v1/auth/userinfo)",
  offline_access: "A refresh token (authorization_code and password grants)",
  read: "Read: GET and HEAD on every service and gateway route your roles allow",
  write: "Write: POST, PUT, PATCH and DELETE on every service and gateway route your roles allow",
} as const;
export type Scope = keyof typeof SCOPES;
export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[];

/** What each grant may have; asking for nothing gets all of it, as before scopes meant anything. */
const GRANTABLE: Record<"password" | "client_credentials" | "authorization_code", Scope[]> = {
  password: SCOPE_NAMES,
  authorization_code: SCOPE_NAMES,
  client_credentials: ["read", "write"],
};

/**
 * The scope name tokens issued before scopes were enforced carried; it still means every
 * scope the grant allows, so those tokens and their refresh tokens keep working.
 */
const LEGACY_ALL = "api";

function canonical(scopes: Iterable<string>): string {
  const set = new Set(scopes);
  return SCOPE_NAMES.filter((s) => set.has(s)).join(" ");
}

/** The scope tokens of a space-separated list (RFC 6749 3.3: %x20 separates; anything else is part of a token). */
function tokens(scope: string): string[] {
  return scope.split(" ").filter(Boolean);
}

/** The scope to grant for `requested` (absent: everything the grant allows); invalid_scope otherwise. */
export function grantScope(grant: keyof typeof GRANTABLE, requested: string | undefined): string {
  const allowed = GRANTABLE[grant];
  if (requested === undefined || requested.trim() === "") return canonical(allowed);
  const asked = tokens(requested);
  const unknown = asked.filter((s) => s !== LEGACY_ALL && !Object.hasOwn(SCOPES, s));
  if (unknown.length) throw new OAuthError("invalid_scope", `Unknown scope: ${unknown.join(" ")}. Supported: ${SCOPE_NAMES.join(" ")}.`);
  const refused = asked.filter((s) => s !== LEGACY_ALL && !allowed.includes(s as Scope));
  if (refused.length)
    throw new OAuthError("invalid_scope", `The ${grant} grant cannot have the scope ${refused.join(" ")}. It may have: ${allowed.join(" ")}.`);
  return canonical(asked.includes(LEGACY_ALL) ? allowed : asked);
}

/** A stored scope (a refresh token's) in today's terms: the legacy name becomes what it stood for. */
export function currentScope(stored: string): string {
  const asked = tokens(stored);
  return canonical(asked.includes(LEGACY_ALL) ? GRANTABLE.password : asked);
}

/** What a scope allows, by scope text: asked on every request, and a deployment's tokens carry a handful of distinct scopes. */
const allows = new Map<string, { read: boolean; write: boolean }>();

/** Whether a token with `scope` may do `action` (roles permitting). */
export function scopeAllows(scope: string, action: PermissionAction): boolean {
  let known = allows.get(scope);
  if (!known) {
    const have = tokens(scope);
    const all = have.includes(LEGACY_ALL);
    known = { read: all || have.includes("read"), write: all || have.includes("write") };
    // Bounded: scopes are a client's choice, so their texts are not a fixed set.
    if (allows.size >= 256) allows.clear();
    allows.set(scope, known);
  }
  return action === "read" ? known.read : known.write;
}

/** The scope a method needs: `read` for GET and HEAD, `write` for anything else. */
export function scopeForMethod(method: string): "read" | "write" {
  const m = method.toUpperCase();
  return m === "GET" || m === "HEAD" ? "read" : "write";
}

/** The permissions the roles give, less what the scope does not allow. */
export function limitToScope(permissions: Record<string, PermissionAction[]>, scope: string): Record<string, PermissionAction[]> {
  const read = scopeAllows(scope, "read");
  const write = scopeAllows(scope, "create");
  if (read && write) return permissions;
  return Object.fromEntries(Object.entries(permissions).map(([s, actions]) => [s, actions.filter((a) => (a === "read" ? read : write))]));
}
