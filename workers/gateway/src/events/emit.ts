import type { Context } from "hono";
import { sql } from "drizzle-orm";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { db } from "../identity/db/client";

type Db = ReturnType<typeof db>;
import { buildEvent, eventSource, eventsEnabled, relayOutbox, type EventActor, type PlatformEvent } from "@buildly/shared";
import type { GatewayEnv } from "../types";

/**
 * The gateway's own events (the identity provider's): built here, written to the gateway's
 * outbox in the same D1 batch as the change they describe (`outboxSql` in `d.batch([...])`),
 * relayed right after (`relaySoon`) and swept by the cron. Types are `identity.<model>.<action>`.
 */
export const GATEWAY_SOURCE = eventSource("gateway");

/** Who acts in this request: the verified principal, or the platform itself (an anonymous login attempt). */
export function actorOf(c: Context<GatewayEnv>): EventActor {
  const p = c.get("principal");
  const requestid = c.get("requestId") ?? null;
  if (!p) return { source: GATEWAY_SOURCE, actortype: "system", actorid: null, requestid };
  return { source: GATEWAY_SOURCE, actortype: p.kind === "client" ? "client" : "user", actorid: p.subject, requestid };
}

export function systemActor(requestid: string | null): EventActor {
  return { source: GATEWAY_SOURCE, actortype: "system", actorid: null, requestid };
}

export function identityEvent(
  actor: EventActor,
  type: `identity.${string}.${string}`,
  e: { subject: string; organizationid: string; data: Record<string, unknown> },
): PlatformEvent {
  return buildEvent(actor, { type, ...e });
}

/** The outbox columns an event fills (the table: migrations/0004_events.sql; seq, claimed_at and relayed_at are the relay's). */
const outbox = sqliteTable("outbox", {
  id: text("id").notNull(),
  type: text("type").notNull(),
  source: text("source").notNull(),
  subject: text("subject").notNull(),
  organization_id: text("organization_id").notNull(),
  actor_type: text("actor_type").notNull(),
  actor_id: text("actor_id"),
  request_id: text("request_id"),
  time: text("time").notNull(),
  data: text("data").notNull(),
});

/**
 * The outbox INSERT for `event`, a drizzle query to put in the same `d.batch([...])` as the change.
 * `onlyIfChanged`: only if the statement before it changed a row (SQLite's changes(); the
 * identity tables have no triggers that would count too).
 */
export function outboxInsert(d: Db, event: PlatformEvent, options: { onlyIfChanged?: boolean } = {}) {
  const where = options.onlyIfChanged ? sql` WHERE changes() > 0` : sql``;
  return d
    .insert(outbox)
    .select(
      sql`SELECT ${event.id}, ${event.type}, ${event.source}, ${event.subject}, ${event.organizationid}, ${event.actortype}, ${event.actorid}, ${event.requestid}, ${event.time}, ${JSON.stringify(event.data)}${where}`,
    );
}

/** Moves the outbox to the queue after the response (the cron sweep catches whatever this misses). */
export function relaySoon(c: Context<GatewayEnv>): void {
  if (!eventsEnabled(c.env)) return;
  const relay = relayOutbox(c.env).catch((err) =>
    console.error(JSON.stringify({ level: "error", msg: "outbox relay failed", source: GATEWAY_SOURCE, error: String(err) })),
  );
  try {
    c.executionCtx.waitUntil(relay);
  } catch {
    // No execution context (app.request in a test): the relay runs on without it.
  }
}
