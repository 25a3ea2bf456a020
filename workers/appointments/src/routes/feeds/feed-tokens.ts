import { and, eq } from "drizzle-orm";
import { db } from "../../db/client";
import { calendarFeedTokens } from "../../db/schema";
import { loadCalendar } from "../../scheduling/writes";

/** A feed token: 32 random bytes, base64url without padding (43 characters). */
export const FEED_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** What the gateway passes: the SHA-256 of a token, lower-case hex. */
export const FEED_TOKEN_HASH_PATTERN = /^[0-9a-f]{64}$/;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** SHA-256 of the token, hex: the only form stored, and the only form the lookup takes. */
export async function feedTokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Gives the calendar a new secret feed token, replacing (and so revoking) any earlier one.
 * Undefined when the organization has no such calendar. The token is returned once, never stored.
 */
export async function rotateFeedToken(d1: D1Database, org: string, calendarId: string): Promise<{ token: string; created_at: string } | undefined> {
  if (!(await loadCalendar(d1, org, calendarId))) return undefined;
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const row = { calendar_id: calendarId, organization_id: org, token_hash: await feedTokenHash(token), created_at: new Date().toISOString() };
  await db(d1)
    .insert(calendarFeedTokens)
    .values(row)
    .onConflictDoUpdate({ target: calendarFeedTokens.calendar_id, set: { token_hash: row.token_hash, created_at: row.created_at } });
  return { token, created_at: row.created_at };
}

/** Deletes the calendar's feed token: its URL answers 404 from the next request on. False: no such calendar. */
export async function revokeFeedToken(d1: D1Database, org: string, calendarId: string): Promise<boolean> {
  if (!(await loadCalendar(d1, org, calendarId))) return false;
  await db(d1)
    .delete(calendarFeedTokens)
    .where(and(eq(calendarFeedTokens.calendar_id, calendarId), eq(calendarFeedTokens.organization_id, org)));
  return true;
}

/**
 * The organization and calendar a token hash names, or undefined. The lookup is an index probe on the hash, never a
 * comparison with the secret itself, so its timing tells nothing about any stored token; the row
 * names the organization and the calendar, and the calendar is read within that organization.
 */
export async function feedOfTokenHash(d1: D1Database, tokenHash: string): Promise<{ organization_id: string; calendar_id: string } | undefined> {
  if (!FEED_TOKEN_HASH_PATTERN.test(tokenHash)) return undefined;
  const row = await db(d1).select().from(calendarFeedTokens).where(eq(calendarFeedTokens.token_hash, tokenHash)).get();
  return row ? { organization_id: row.organization_id, calendar_id: row.calendar_id } : undefined;
}
