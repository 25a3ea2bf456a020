import { expect } from "vitest";
import { type PlatformEvent, PlatformEventSchema } from "../events";
import { actorFromIdentity, eventDatabase, outboxRelaysSettled, relayOutbox, sweepOutbox } from "../outbox";
// index.ts re-exports this module; identity is only used when a check runs, after both loaded.
import { identity, type RpcService } from "./index";

export interface OutboxEntry {
  event: PlatformEvent;
  relayed_at: string | null;
  claimed_at: string | null;
}

/** The outbox rows of one organization, oldest first, each read back as the event it relays. */
export async function outboxOf(d1: D1Database, organizationId: string): Promise<OutboxEntry[]> {
  const { results } = await d1
    .prepare("SELECT * FROM outbox WHERE organization_id = ?1 ORDER BY seq")
    .bind(organizationId)
    .all<Record<string, string | null>>();
  return results.map((r) => ({
    event: PlatformEventSchema.parse({
      specversion: "1.0",
      id: r.id,
      source: r.source,
      type: r.type,
      time: r.time,
      subject: r.subject,
      datacontenttype: "application/json",
      organizationid: r.organization_id,
      actortype: r.actor_type,
      actorid: r.actor_id,
      requestid: r.request_id,
      data: JSON.parse(r.data ?? "{}"),
    }),
    relayed_at: r.relayed_at ?? null,
    claimed_at: r.claimed_at ?? null,
  }));
}

/** Waits (bounded) until every outbox row of the organization is relayed; returns them. */
export async function relayedOutbox(d1: D1Database, organizationId: string, expected: number): Promise<OutboxEntry[]> {
  let rows: OutboxEntry[] = [];
  for (let i = 0; i < 100; i++) {
    rows = await outboxOf(d1, organizationId);
    if (rows.length >= expected && rows.every((r) => r.relayed_at)) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`outbox of ${organizationId}: ${rows.length} rows, ${rows.filter((r) => r.relayed_at).length} relayed, expected ${expected} relayed`);
}

/**
 * A queue producer whose sends fail (a queue outage), delegating nothing: the relay's failure path.
 * Only the relay is given it; the sweep then uses the real binding.
 */
export const unavailableQueue = {
  send: async () => {
    throw new Error("Queue send failed: the queue is unavailable (fault injected by the test)");
  },
  sendBatch: async () => {
    throw new Error("Queue sendBatch failed: the queue is unavailable (fault injected by the test)");
  },
} as unknown as Queue;

/** What the outbox checks below need of a logic service's test environment. */
export interface OutboxTestEnv {
  DB: D1Database;
  EVENTS?: Queue;
  EVENTS_OUTBOX?: string;
}

/**
 * An API client acting for itself (client_credentials) writes through the service's RPC
 * entrypoint: the event names the client as its actor and carries the call's request id.
 */
export async function expectClientActor(service: RpcService, d1: D1Database, path: string, body: unknown, type: string): Promise<void> {
  const org = crypto.randomUUID();
  const clientId = crypto.randomUUID();
  const ctx = identity(org, { user_id: clientId, client_id: clientId });
  const res = await service.handle(
    new Request(`https://service.internal${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    ctx,
  );
  expect(res.status, `POST ${path}`).toBe(201);
  const [row] = await outboxOf(d1, org);
  expect(row?.event).toMatchObject({ actortype: "client", actorid: clientId, requestid: ctx.request_id, type });
}

/**
 * A batch that fails part-way (`insert` twice: the second breaks a unique index) rolls its
 * events back with it; the context row never outlives a batch. `insert(db, org)` prepares one
 * INSERT of a new row of `table` for organization `org` on `db`.
 */
export async function expectFailedBatchLeavesNoEvent(
  env: OutboxTestEnv,
  service: string,
  table: string,
  insert: (db: D1Database, org: string) => D1PreparedStatement,
): Promise<void> {
  const org = crypto.randomUUID();
  const db = eventDatabase({ DB: env.DB, EVENTS: unavailableQueue }, actorFromIdentity(service, identity(org)), () => {});
  const statement = insert(db, org);
  await expect(db.batch([statement, statement])).rejects.toThrow(/UNIQUE/);
  expect(await outboxOf(env.DB, org)).toEqual([]);
  expect(await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE organization_id = ?1`).bind(org).first("n")).toBe(0);
  // Without the context row a write outside the wrapper records nothing.
  expect(await env.DB.prepare("SELECT count(*) AS n FROM event_context").first("n")).toBe(0);
}

/**
 * A write whose relay fails (the queue is down) leaves its event in the outbox, claimed; a relay
 * moments later does not take a row another relay claimed, and the sweep (the cron's) sends it
 * once the claim has timed out. `insert(db, org)` as above.
 */
export async function expectSweepCatchesUp(env: OutboxTestEnv, service: string, insert: (db: D1Database, org: string) => D1PreparedStatement): Promise<void> {
  // The windows of earlier writes would take this write's row too: let them finish first.
  await outboxRelaysSettled();
  const org = crypto.randomUUID();
  const pending: Promise<unknown>[] = [];
  const broken = eventDatabase({ DB: env.DB, EVENTS: unavailableQueue }, actorFromIdentity(service, identity(org)), (p) => pending.push(p));
  await insert(broken, org).run();
  await Promise.all(pending);
  let rows = await outboxOf(env.DB, org);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.relayed_at).toBeNull();
  expect(rows[0]!.claimed_at).not.toBeNull();
  expect((await relayOutbox(env)).sent).toBe(0);
  const report = await sweepOutbox(env, { now: Date.now() + 60_000 });
  expect(report.sent).toBeGreaterThanOrEqual(1);
  rows = await outboxOf(env.DB, org);
  expect(rows[0]!.relayed_at).not.toBeNull();
}

/**
 * Requests by different actors (users and API clients) writing at the same time through the
 * service's RPC entrypoint: each event names the actor and request id of the request that wrote
 * its row, never another's. Who acts travels with each writing batch, inside its transaction, so
 * batches that D1 runs back to back cannot lend each other their context. `body(i)` is the i-th
 * new record's body; `path` must create exactly one evented row per call.
 */
export async function expectExactActorsUnderConcurrency(service: RpcService, d1: D1Database, path: string, body: (i: number) => unknown): Promise<void> {
  const org = crypto.randomUUID();
  const calls = Array.from({ length: 8 }, (_, i) => {
    const actor = crypto.randomUUID();
    return i % 2 ? identity(org, { user_id: actor, client_id: actor }) : identity(org, { user_id: actor });
  });
  const created = await Promise.all(
    calls.map(async (ctx, i) => {
      const res = await service.handle(
        new Request(`https://service.internal${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body(i)) }),
        ctx,
      );
      expect(res.status, `POST ${path}`).toBe(201);
      return { id: (await res.json<{ id: string }>()).id, ctx };
    }),
  );
  const rows = await outboxOf(d1, org);
  expect(rows).toHaveLength(calls.length);
  const bySubject = new Map(rows.map((r) => [r.event.subject, r.event]));
  for (const { id, ctx } of created) {
    expect(bySubject.get(id), id).toMatchObject({ actortype: ctx.client_id ? "client" : "user", actorid: ctx.user_id, requestid: ctx.request_id });
  }
}

/**
 * Who acts never outlives the write that named it: after a write through the wrapper, a write
 * outside it (a cron's purge, a migration, a seed, `wrangler d1 execute`) records no event, and
 * the next wrapper write, by another actor, names that actor. `insert(db, org)` as above.
 */
export async function expectContextDoesNotLeak(
  env: OutboxTestEnv,
  service: string,
  insert: (db: D1Database, org: string) => D1PreparedStatement,
): Promise<void> {
  const org = crypto.randomUUID();
  const first = identity(org);
  const second = identity(org);
  await insert(
    eventDatabase({ DB: env.DB }, actorFromIdentity(service, first), () => {}),
    org,
  ).run();
  await insert(env.DB, org).run();
  await env.DB.batch([insert(env.DB, org), insert(env.DB, org)]);
  await insert(
    eventDatabase({ DB: env.DB }, actorFromIdentity(service, second), () => {}),
    org,
  ).run();
  const rows = await outboxOf(env.DB, org);
  expect(rows.map((r) => [r.event.actorid, r.event.requestid])).toEqual([
    [first.user_id, first.request_id],
    [second.user_id, second.request_id],
  ]);
}
