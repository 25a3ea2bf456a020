import { and, eq } from "drizzle-orm";
import { db } from "./db/client";
import { clients, users } from "./db/schema";
import type { Principal } from "./tokens";

/**
 * Whether the user or client behind a valid token is still active. Cached per isolate for
 * a short while, so a deactivation takes effect everywhere within STATUS_CACHE_MS (and at
 * once in the isolate that made it) rather than when the access token expires.
 */
const STATUS_CACHE_MS = 30_000;
const cache = new Map<string, { at: number; active: boolean }>();

export async function principalActive(d1: D1Database, p: Principal, ourIssuer: string): Promise<boolean> {
  if (p.issuer !== ourIssuer) return true; // an external IdP answers for its own users
  const key = `${p.kind}:${p.subject}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < STATUS_CACHE_MS) return hit.active;
  const row =
    p.kind === "client"
      ? await db(d1).select({ status: clients.status }).from(clients).where(and(eq(clients.id, p.subject), eq(clients.organization_id, p.organization_id))).get()
      : await db(d1).select({ status: users.status }).from(users).where(and(eq(users.id, p.subject), eq(users.organization_id, p.organization_id))).get();
  const active = row?.status === "active";
  if (cache.size > 50_000) cache.clear();
  cache.set(key, { at: Date.now(), active });
  return active;
}

export function forgetPrincipal(kind: "user" | "client", id: string): void {
  cache.delete(`${kind}:${id}`);
}
