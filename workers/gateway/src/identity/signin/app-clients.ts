import { and, eq } from "drizzle-orm";
import { newId, nowIso } from "@buildly/shared";
import { db } from "../db/client";
import { clients, type ClientRow } from "../db/schema";
import { randomToken, sha256Hex } from "../crypto";
import { SCOPE_NAMES } from "../scopes";

/**
 * Clients as the authorization code flow sees them: who may redirect where, with which
 * grants and scopes. The first-party console client exists once per organization.
 */

export const CONSOLE_CLIENT_NAME = "Buildly console";
export const CONSOLE_GRANTS = ["authorization_code", "refresh_token", "password"];

export async function findClient(d1: D1Database, id: string): Promise<ClientRow | undefined> {
  if (!id || id.length > 200) return undefined;
  return db(d1).select().from(clients).where(eq(clients.id, id)).get();
}

/** The values of the console client's row (the organization's first-party, public client). */
export async function consoleClientRow(organizationId: string, now = nowIso()): Promise<ClientRow> {
  return {
    id: newId(),
    organization_id: organizationId,
    name: CONSOLE_CLIENT_NAME,
    // A public client has no secret: this hash of 256 random bits matches nothing anyone holds.
    secret_hash: await sha256Hex(randomToken(32)),
    roles: [],
    status: "active",
    created_by: null,
    created_at: now,
    updated_at: now,
    client_type: "public",
    first_party: true,
    token_endpoint_auth_method: "none",
    // Its redirect URIs come from CONSOLE_REDIRECT_URIS (see redirectUrisOf), not from this row.
    redirect_uris: [],
    post_logout_redirect_uris: [],
    grant_types: CONSOLE_GRANTS,
    scopes: [...SCOPE_NAMES],
    jwks: null,
  };
}

/** The organization's console client, created the first time it is asked for (a unique index keeps it one). */
export async function consoleClient(d1: D1Database, organizationId: string): Promise<ClientRow> {
  const d = db(d1);
  const find = () =>
    d
      .select()
      .from(clients)
      .where(and(eq(clients.organization_id, organizationId), eq(clients.first_party, true)))
      .get();
  const existing = await find();
  if (existing) return existing;
  await d
    .insert(clients)
    .values(await consoleClientRow(organizationId))
    .onConflictDoNothing();
  return (await find())!;
}

function list(value: unknown): string[] {
  if (typeof value !== "string" || !value.trim()) return [];
  const text = value.trim();
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
    } catch {
      return [];
    }
  }
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Where a client may send the user back after sign-in; the console's from CONSOLE_REDIRECT_URIS (default: <issuer>/console/callback). */
export function redirectUrisOf(env: Env, client: ClientRow, issuer: string): string[] {
  if (!client.first_party) return client.redirect_uris;
  const configured = list(Reflect.get(env, "CONSOLE_REDIRECT_URIS"));
  return configured.length ? configured : [`${issuer}/console/callback`];
}

export function postLogoutUrisOf(env: Env, client: ClientRow, issuer: string): string[] {
  if (!client.first_party) return client.post_logout_redirect_uris;
  const configured = list(Reflect.get(env, "CONSOLE_POST_LOGOUT_REDIRECT_URIS"));
  return configured.length ? configured : [`${issuer}/console/`];
}

const LOOPBACK_IPS = new Set(["127.0.0.1", "[::1]"]);

/**
 * Exact string match against the registered list (no wildcard, no prefix, no normalization),
 * except that a registered http loopback IP redirect may be asked for on any port (RFC 8252 7.3).
 */
export function redirectUriAllowed(registered: string[], asked: string): boolean {
  if (registered.includes(asked)) return true;
  if (!URL.canParse(asked)) return false;
  const a = new URL(asked);
  if (a.protocol !== "http:" || !LOOPBACK_IPS.has(a.hostname)) return false;
  return registered.some((r) => {
    if (!URL.canParse(r)) return false;
    const u = new URL(r);
    if (u.protocol !== "http:" || !LOOPBACK_IPS.has(u.hostname)) return false;
    // Everything but the port, compared as the client wrote it: scheme, host, path and query.
    const strip = (s: string, url: URL) => s.replace(`${url.hostname}:${url.port}`, url.hostname);
    return strip(r, u) === strip(asked, a) && !a.username && !a.password;
  });
}
