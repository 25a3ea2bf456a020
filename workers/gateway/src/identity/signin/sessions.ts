import type { Context } from "hono";
import { and, eq, gt, isNull } from "drizzle-orm";
import { newId, nowIso } from "@buildly/shared";
import { db } from "../db/client";
import { loginSessions, users, type LoginSessionRow, type UserRow } from "../db/schema";
import { randomToken, sha256Hex } from "../crypto";
import type { GatewayEnv } from "../../types";

/**
 * The hosted login page's session: a random token in a cookie, its hash in D1. The cookie is
 * `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax, Path=/; on plain-http loopback (local
 * development only) browsers refuse Secure and `__Host-`, so there it is a plain HttpOnly cookie.
 * A session ends when revoked (sign-out, "not you?"), after SESSION_IDLE_SECONDS without use,
 * or SESSION_MAX_SECONDS after sign-in, whichever comes first, and whenever its user is no
 * longer active in its organization.
 */

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether the gateway is served over plain http on this machine (local development). */
export function insecureLoopback(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === "http:" && LOOPBACK.has(u.hostname);
}

export function cookieName(issuer: string, base: string): string {
  return insecureLoopback(issuer) ? base : `__Host-${base}`;
}

export function setCookie(c: Context<GatewayEnv>, issuer: string, base: string, value: string, maxAge: number | null) {
  const parts = [`${cookieName(issuer, base)}=${value}`, "Path=/", "HttpOnly", "SameSite=Lax"];
  if (!insecureLoopback(issuer)) parts.push("Secure");
  if (maxAge !== null) parts.push(`Max-Age=${maxAge}`);
  c.header("set-cookie", parts.join("; "), { append: true });
}

export function readCookie(c: Context<GatewayEnv>, issuer: string, base: string): string | undefined {
  const name = cookieName(issuer, base);
  const header = c.req.header("cookie") ?? "";
  let found: string | undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    if (part.slice(0, i).trim() !== name) continue;
    // Two cookies of one name (one planted for a parent path or domain): trust neither.
    if (found !== undefined) return undefined;
    found = part.slice(i + 1).trim();
  }
  return found && /^[A-Za-z0-9_-]{20,100}$/.test(found) ? found : undefined;
}

export const SESSION_COOKIE = "buildly_session";

function seconds(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function sessionLimits(env: Env) {
  return {
    idle: seconds(Reflect.get(env, "SESSION_IDLE_SECONDS"), 8 * 3600),
    absolute: seconds(Reflect.get(env, "SESSION_MAX_SECONDS"), 7 * 24 * 3600),
  };
}

export interface Session {
  row: LoginSessionRow;
  user: UserRow;
}

/** The valid session the request's cookie names, if any (touching its idle clock). */
export async function currentSession(c: Context<GatewayEnv>, issuer: string): Promise<Session | undefined> {
  const token = readCookie(c, issuer, SESSION_COOKIE);
  if (!token) return undefined;
  const d = db(c.env.DB);
  const now = new Date();
  const { idle } = sessionLimits(c.env);
  const found = await d
    .select({ row: loginSessions, user: users })
    .from(loginSessions)
    .innerJoin(users, eq(users.id, loginSessions.user_id))
    .where(and(eq(loginSessions.token_hash, await sha256Hex(token)), isNull(loginSessions.revoked_at), gt(loginSessions.expires_at, now.toISOString())))
    .get();
  if (!found) return undefined;
  if (Date.parse(found.row.last_seen_at) + idle * 1000 <= now.getTime()) return undefined;
  // A user deactivated or moved out of the organization since sign-in: the session is over.
  if (found.user.status !== "active" || found.user.organization_id !== found.row.organization_id) {
    await d.update(loginSessions).set({ revoked_at: now.toISOString() }).where(eq(loginSessions.id, found.row.id));
    return undefined;
  }
  await d.update(loginSessions).set({ last_seen_at: now.toISOString() }).where(eq(loginSessions.id, found.row.id));
  return found;
}

/**
 * A new session for `user`, replacing whatever session cookie the browser sent (which is
 * revoked): the identifier changes at every sign-in, so a planted one is worthless.
 */
export async function startSession(c: Context<GatewayEnv>, issuer: string, user: UserRow, amr: string[]): Promise<LoginSessionRow> {
  await endSession(c, issuer);
  const token = randomToken(32);
  const now = new Date();
  const { absolute } = sessionLimits(c.env);
  const row: LoginSessionRow = {
    id: newId(),
    token_hash: await sha256Hex(token),
    user_id: user.id,
    organization_id: user.organization_id,
    amr,
    auth_time: Math.floor(now.getTime() / 1000),
    created_at: now.toISOString(),
    last_seen_at: now.toISOString(),
    expires_at: new Date(now.getTime() + absolute * 1000).toISOString(),
    revoked_at: null,
  };
  await db(c.env.DB).insert(loginSessions).values(row);
  setCookie(c, issuer, SESSION_COOKIE, token, absolute);
  return row;
}

/** Revokes the session the cookie names (if any) and clears the cookie. */
export async function endSession(c: Context<GatewayEnv>, issuer: string): Promise<void> {
  const token = readCookie(c, issuer, SESSION_COOKIE);
  if (token) {
    await db(c.env.DB)
      .update(loginSessions)
      .set({ revoked_at: nowIso() })
      .where(and(eq(loginSessions.token_hash, await sha256Hex(token)), isNull(loginSessions.revoked_at)));
  }
  if (c.req.header("cookie")?.includes(cookieName(issuer, SESSION_COOKIE))) setCookie(c, issuer, SESSION_COOKIE, "", 0);
}

/** Ends every session of a user (password change, deactivation). */
export async function endUserSessions(d1: D1Database, userId: string): Promise<void> {
  await db(d1)
    .update(loginSessions)
    .set({ revoked_at: nowIso() })
    .where(and(eq(loginSessions.user_id, userId), isNull(loginSessions.revoked_at)));
}
