import type { Context } from "hono";
import { sql } from "drizzle-orm";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { DrizzleD1Database } from "drizzle-orm/d1";

// biome-ignore lint/suspicious/noExplicitAny: any drizzle D1 database, with or without a schema
type Db = DrizzleD1Database<any>;
import { buildEvent, type EventActor, type PlatformEvent } from "@buildly/shared/events";
import { eventSource, eventsEnabled, relayOutbox, requestIdWithTrace } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";
import type { GatewayEventType } from "./types";

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
  // Traced: the events carry the request's span to the queue, so the consumer's span continues it.
  const traceparent = c.get("telemetry")?.recording ? c.get("traceparent") : undefined;
  const actor: EventActor = p
    ? { source: GATEWAY_SOURCE, actortype: p.kind === "client" ? "client" : "user", actorid: p.subject, requestid }
    : { source: GATEWAY_SOURCE, actortype: "system", actorid: null, requestid };
  if (traceparent) actor.traceparent = traceparent;
  return actor;
}

export function systemActor(requestid: string | null): EventActor {
  return { source: GATEWAY_SOURCE, actortype: "system", actorid: null, requestid };
}

/** One of the gateway's own events (GATEWAY_EVENT_TYPES): identity, webhooks, mesh, workflows. */
export function gatewayEvent(
  actor: EventActor,
  type: GatewayEventType,
  e: { subject: string; organizationid: string; data: Record<string, unknown>; id?: string; time?: string },
): PlatformEvent {
  const event = buildEvent(actor, { type, ...e });
  if (actor.traceparent) traceOf.set(event, actor.traceparent);
  return event;
}

/** The writing span of each traced event (never part of the event itself): its outbox row carries it to the queue. */
const traceOf = new WeakMap<PlatformEvent, string>();
const storedRequestId = (event: PlatformEvent) => requestIdWithTrace(event.requestid, traceOf.get(event));

/** The identity provider's events (the same as gatewayEvent; kept for the identity handlers). */
export const identityEvent = gatewayEvent;

/** The actor of a change made by a user who is not signed in yet (registering, resetting a password). */
export function userActor(c: Context<GatewayEnv>, userId: string): EventActor {
  return { ...systemActor(c.get("requestId") ?? null), actortype: "user", actorid: userId };
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
      sql`SELECT ${event.id}, ${event.type}, ${event.source}, ${event.subject}, ${event.organizationid}, ${event.actortype}, ${event.actorid}, ${storedRequestId(event)}, ${event.time}, ${JSON.stringify(event.data)}${where}`,
    );
}

/**
 * The same outbox INSERT as a plain D1 statement, for code that batches prepared statements
 * (webhooks, workflows). `onlyIfChanged` as in outboxInsert; `orIgnore` for an event whose id is
 * derived from what it describes (written again after a retry, it stays one row); `dataSet` puts
 * one value the batch itself decides (a version number) into the event's data, from a scalar
 * subquery whose parameters are numbered from ?11.
 */
export function outboxStatement(
  d1: D1Database,
  event: PlatformEvent,
  options: { onlyIfChanged?: boolean; orIgnore?: boolean; dataSet?: { path: string; select: string; params: unknown[] } } = {},
): D1PreparedStatement {
  const data = options.dataSet ? `json_set(?10, '${options.dataSet.path.replace(/'/g, "")}', (${options.dataSet.select}))` : "?10";
  return d1
    .prepare(
      `INSERT ${options.orIgnore ? "OR IGNORE " : ""}INTO outbox (id, type, source, subject, organization_id, actor_type, actor_id, request_id, time, data)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ${data}${options.onlyIfChanged ? " WHERE changes() > 0" : ""}`,
    )
    .bind(
      event.id,
      event.type,
      event.source,
      event.subject,
      event.organizationid,
      event.actortype,
      event.actorid,
      storedRequestId(event),
      event.time,
      JSON.stringify(event.data),
      ...(options.dataSet?.params ?? []),
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
