import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectClientActor, expectFailedBatchLeavesNoEvent, expectSweepCatchesUp, outboxOf, relayedOutbox } from "@buildly/shared/test";
import { createItem, fresh, rpc } from "./helpers";

// Events (docs/events-and-audit.md): every change of an item writes one event into the
// outbox in the same D1 batch (migrations/0002_events.sql); the relay sends it to buildly-events.
const real = env as unknown as Env;
const DB = real.DB;

/** One new item of `org`, written on `db` directly (the failure checks write below the API). */
const insertItem = (db: D1Database, org: string) =>
  db
    .prepare("INSERT INTO items (id, organization_id, name, tags, created_at, updated_at) VALUES (?1, ?2, 'Below the API', '[]', ?3, ?3)")
    .bind(crypto.randomUUID(), org, new Date().toISOString());

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
    await expectClientActor(rpc, DB, "/items", { name: "By a bot" }, "__service__.item.created");
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
    await expectFailedBatchLeavesNoEvent(real, "__service__", "items", insertItem);
  });

  it("a relay that fails leaves the events in the outbox, and the sweep (the cron's, src/index.ts) relays them", async () => {
    await expectSweepCatchesUp(real, "__service__", insertItem);
  });

  it("keeps organizations apart: each event carries its row's organization", async () => {
    const x = fresh();
    const y = fresh();
    await createItem(x.client);
    expect(await outboxOf(DB, y.org)).toEqual([]);
    expect((await outboxOf(DB, x.org)).map((r) => r.event.organizationid)).toEqual([x.org]);
  });
});
