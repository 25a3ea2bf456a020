import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { actorFromIdentity, eventDatabase, relayOutbox, sweepOutbox } from "@buildly/shared";
import { outboxOf, relayedOutbox, unavailableQueue } from "@buildly/shared/test";
import { createItem, fresh, identity, rpc } from "./helpers";

// Events (README "Events and audit trail"): every change of an item writes one event into the
// outbox in the same D1 batch (migrations/0002_events.sql); the relay sends it to buildly-events.
const real = env as unknown as Env;
const DB = real.DB;

describe("events: the transactional outbox", () => {
  it("writes one event per create, update and delete of an item, with the item after the change and the actor", async () => {
    const { org, client } = fresh();
    const item = await createItem(client, { name: "Evented", description: "first", tags: ["e"] });
    const changed = await (await client.patch(`/items/${item.id}`, { status: "archived" })).json<any>();
    expect((await client.delete(`/items/${item.id}`)).status).toBe(204);

    const events = (await relayedOutbox(DB, org, 3)).map((r) => r.event);
    expect(events.map((e) => `${e.type} ${e.subject}`)).toEqual([
      `__service__.item.created ${item.id}`,
      `__service__.item.updated ${item.id}`,
      `__service__.item.deleted ${item.id}`,
    ]);
    // The record after the change is the API's own representation of it; a delete carries the id.
    expect(events[0]!.data).toEqual(item);
    expect(events[1]!.data).toEqual(changed);
    expect(events[2]!.data).toEqual({ id: item.id });
    for (const e of events) {
      expect(e).toMatchObject({ source: "/buildly/__service__", organizationid: org, actortype: "user", specversion: "1.0" });
      expect(e.actorid).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.requestid).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it("names the API client as the actor when a client acts for itself", async () => {
    const org = crypto.randomUUID();
    const clientId = crypto.randomUUID();
    const ctx = identity(org, { user_id: clientId, client_id: clientId });
    const res = await rpc.handle(
      new Request("https://service.internal/items", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "By a bot" }),
      }),
      ctx,
    );
    expect(res.status).toBe(201);
    const [row] = await outboxOf(DB, org);
    expect(row!.event).toMatchObject({ actortype: "client", actorid: clientId, requestid: ctx.request_id, type: "__service__.item.created" });
  });

  it("a write that fails or changes nothing leaves no event", async () => {
    const { org, client } = fresh();
    const item = await createItem(client);
    const before = (await outboxOf(DB, org)).length;
    expect(before).toBe(1);
    expect((await client.post("/items", { name: "" })).status).toBe(422);
    expect((await client.patch(`/items/${item.id}`, { status: "lost" })).status).toBe(422);
    expect((await client.patch(`/items/${crypto.randomUUID()}`, { name: "x" })).status).toBe(404);
    expect((await client.delete(`/items/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await outboxOf(DB, org)).length).toBe(before);
  });

  it("a batch that fails part-way rolls its events back with it", async () => {
    const org = crypto.randomUUID();
    const db = eventDatabase({ DB, EVENTS: unavailableQueue }, actorFromIdentity("__service__", identity(org)), () => {});
    const insert = db
      .prepare("INSERT INTO items (id, organization_id, name, tags, created_at, updated_at) VALUES (?1, ?2, 'X', '[]', ?3, ?3)")
      .bind(crypto.randomUUID(), org, new Date().toISOString());
    // The second statement breaks the items_org_id unique index: the whole batch rolls back.
    await expect(db.batch([insert, insert])).rejects.toThrow(/UNIQUE/);
    expect(await outboxOf(DB, org)).toEqual([]);
    expect(await DB.prepare("SELECT count(*) AS n FROM items WHERE organization_id = ?1").bind(org).first("n")).toBe(0);
    expect(await DB.prepare("SELECT count(*) AS n FROM event_context").first("n")).toBe(0);
  });

  it("a relay that fails leaves the events in the outbox, and the sweep relays them", async () => {
    const org = crypto.randomUUID();
    const pending: Promise<unknown>[] = [];
    const broken = eventDatabase({ DB, EVENTS: unavailableQueue }, actorFromIdentity("__service__", identity(org)), (p) => pending.push(p));
    const now = new Date().toISOString();
    await broken
      .prepare("INSERT INTO items (id, organization_id, name, tags, created_at, updated_at) VALUES (?1, ?2, 'Left behind', '[]', ?3, ?3)")
      .bind(crypto.randomUUID(), org, now)
      .run();
    await Promise.all(pending);
    let rows = await outboxOf(DB, org);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.relayed_at).toBeNull();
    expect(rows[0]!.claimed_at).not.toBeNull();

    // A relay right now does not take a row another relay claimed moments ago; the sweep does once
    // the claim has timed out (the cron runs it every minute: src/index.ts, scheduled).
    expect((await relayOutbox(real)).sent).toBe(0);
    expect((await sweepOutbox(real, { now: Date.now() + 60_000 })).sent).toBeGreaterThanOrEqual(1);
    rows = await outboxOf(DB, org);
    expect(rows[0]!.relayed_at).not.toBeNull();
  });

  it("keeps organizations apart: each event carries its row's organization", async () => {
    const x = fresh();
    const y = fresh();
    await createItem(x.client);
    expect(await outboxOf(DB, y.org)).toEqual([]);
    expect((await outboxOf(DB, x.org)).map((r) => r.event.organizationid)).toEqual([x.org]);
  });
});
