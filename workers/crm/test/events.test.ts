import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MARKS_WAIT_MS, actorFromIdentity, claimInBatch, eventDatabase, outboxRelaysSettled, pendingMarks } from "@buildly/shared";
import {
  expectClientActor,
  expectContextDoesNotLeak,
  expectExactActorsUnderConcurrency,
  expectFailedBatchLeavesNoEvent,
  expectSweepCatchesUp,
  identity,
  outboxOf,
  relayedOutbox,
} from "@buildly/shared/test";
import { contactInput as contact, create, freshOrg, rpc } from "./helpers";

/** A client for a brand-new organization, carrying its id. */
const fresh = () => {
  const { org, client } = freshOrg();
  return Object.assign(client, { org });
};

const real = env as unknown as Env;
const DB = real.DB;

/** One new company of `org`, written on `db` directly (the failure checks write below the API). */
const insertCompany = (db: D1Database, org: string) =>
  db
    .prepare("INSERT INTO companies (id, organization_id, name, tags, custom_fields, created_at, updated_at) VALUES (?1, ?2, 'X', '[]', '{}', ?3, ?3)")
    .bind(crypto.randomUUID(), org, new Date().toISOString());

describe("events: the transactional outbox", () => {
  it("writes one event per create, update and delete of every model, with the record after the change and the actor", async () => {
    const c = fresh();
    const company = await create(c, "/companies", { name: "Analytical Engines", tags: ["a"], custom_fields: { tier: 1 } });
    const person = await create(c, "/contacts", contact({ company_id: company.id }));
    const pipeline = await create(c, "/pipelines", { name: "Partnerships", stages: [{ id: "intro", name: "Intro" }] });
    const deal = await create(c, "/deals", { title: "Deal", amount: 100, currency: "EUR", pipeline_id: pipeline.id, stage: "intro", contact_id: person.id });
    const activity = await create(c, "/activities", { type: "note", deal_id: deal.id, body: "hello" });
    const renamed = await (await c.patch(`/contacts/${person.id}`, { last_name: "Byron" })).json<any>();
    for (const path of [`/activities/${activity.id}`, `/deals/${deal.id}`, `/pipelines/${pipeline.id}`, `/contacts/${person.id}`, `/companies/${company.id}`]) {
      expect((await c.delete(path)).status, path).toBe(204);
    }

    const rows = await relayedOutbox(DB, c.org, 12);
    // The organization's first touch of pipelines gave it its default pipeline: a change too.
    const provisioned = rows.find((r) => r.event.data.is_default === true)!.event;
    const events = rows.map((r) => r.event).filter((e) => e !== provisioned);
    expect(provisioned.type).toBe("crm.pipeline.created");
    expect(events.map((e) => `${e.type} ${e.subject}`)).toEqual([
      `crm.company.created ${company.id}`,
      `crm.contact.created ${person.id}`,
      `crm.pipeline.created ${pipeline.id}`,
      `crm.deal.created ${deal.id}`,
      `crm.activity.created ${activity.id}`,
      `crm.contact.updated ${person.id}`,
      `crm.activity.deleted ${activity.id}`,
      `crm.deal.deleted ${deal.id}`,
      `crm.pipeline.deleted ${pipeline.id}`,
      `crm.contact.deleted ${person.id}`,
      `crm.company.deleted ${company.id}`,
    ]);
    // The record after the change is the API's own representation of it.
    expect(events[0]!.data).toEqual(company);
    expect(events[1]!.data).toEqual(person);
    expect(events[2]!.data).toEqual(pipeline);
    expect(events[3]!.data).toEqual(deal);
    expect(events[4]!.data).toEqual(activity);
    expect(events[5]!.data).toEqual(renamed);
    expect(events[6]!.data).toEqual({ id: activity.id });
    for (const e of events) {
      expect(e).toMatchObject({ source: "/buildly/crm", organizationid: c.org, actortype: "user", specversion: "1.0" });
      expect(e.actorid).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.requestid).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it("names the API client as the actor when a client acts for itself", async () => {
    await expectClientActor(rpc, DB, "/companies", { name: "Bot Co" }, "crm.company.created");
  });

  it("requests by different actors writing at once: each event names its own request's actor and request id", async () => {
    await expectExactActorsUnderConcurrency(rpc, DB, "/companies", (i) => ({ name: `Concurrent ${i}` }));
  });

  it("who acts never leaks into a later write: a write outside the wrapper records no event, the next actor is its own", async () => {
    await expectContextDoesNotLeak(real, "crm", insertCompany);
  });

  it("a write that fails leaves no event (a unique violation, a missing reference, a refused delete)", async () => {
    const c = fresh();
    const person = await create(c, "/contacts", contact());
    const deal = await create(c, "/deals", { title: "Deal", amount: 1, currency: "EUR", contact_id: person.id });
    const before = (await outboxOf(DB, c.org)).length;
    expect((await c.post("/contacts", contact({ email: person.email }))).status).toBe(409);
    expect((await c.patch(`/contacts/${person.id}`, { company_id: crypto.randomUUID() })).status).toBe(422);
    // Still referenced by the deal: the delete batch changes nothing.
    expect((await c.delete(`/contacts/${person.id}`)).status).toBe(409);
    expect((await c.delete(`/contacts/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await outboxOf(DB, c.org)).length).toBe(before);
    expect(deal.id).toBeTruthy();
  });

  it("a batch that fails part-way rolls its events back with it", async () => {
    // The second insert breaks the companies_org_id unique index: the whole batch rolls back.
    await expectFailedBatchLeavesNoEvent(real, "crm", "companies", insertCompany);
  });

  it("a relay that fails leaves the events in the outbox, and the sweep relays them", async () => {
    await expectSweepCatchesUp(real, "crm", insertCompany);
  });

  it("keeps organizations apart: each event carries its row's organization", async () => {
    const x = fresh();
    const y = fresh();
    await create(x, "/companies", { name: "X" });
    expect(await outboxOf(DB, y.org)).toEqual([]);
    expect((await outboxOf(DB, x.org)).map((r) => r.event.organizationid)).toEqual([x.org]);
  });

  it("writes close together share one queue send, several events to a message, each event once", async () => {
    // Windows of earlier writes take every unrelayed row: let them finish, so this test's writes have theirs alone.
    await outboxRelaysSettled();
    const org = crypto.randomUUID();
    // The real queue, counted on the way through: how many sends and messages the relay makes.
    const sends: { messages: number; events: string[] }[] = [];
    const counted = {
      send: (body: unknown, options?: QueueSendOptions) => real.EVENTS!.send(body, options),
      sendBatch: async (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
        const list = [...messages];
        sends.push({ messages: list.length, events: list.flatMap((m) => (m.body as { events: { subject: string }[] }).events.map((e) => e.subject)) });
        return real.EVENTS!.sendBatch(list, options);
      },
    } as unknown as Queue;
    const pending: Promise<unknown>[] = [];
    const db = eventDatabase({ DB, EVENTS: counted }, actorFromIdentity("crm", identity(org)), (p) => pending.push(p));
    const ids = Array.from({ length: 8 }, () => crypto.randomUUID());
    const now = new Date().toISOString();
    await Promise.all(
      ids.map((id) =>
        db
          .prepare("INSERT INTO companies (id, organization_id, name, tags, custom_fields, created_at, updated_at) VALUES (?1, ?2, 'X', '[]', '{}', ?3, ?3)")
          .bind(id, org, now)
          .run(),
      ),
    );
    // Only the write that opened the window holds it (waitUntil); the others just add their rows.
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(sends).toHaveLength(1);
    expect(sends[0]!.messages).toBe(1);
    expect([...sends[0]!.events].sort()).toEqual([...ids].sort());
    const rows = await outboxOf(DB, org);
    expect(rows).toHaveLength(8);
    for (const r of rows) expect(r.relayed_at).not.toBeNull();
  });

  it("two requests writing at once: the first holds the shared window, which relays the second's events too", async () => {
    // Windows of earlier writes take every unrelayed row: let them finish, so this test's writes have theirs alone.
    await outboxRelaysSettled();
    const org = crypto.randomUUID();
    const sent: string[] = [];
    const counted = {
      send: (body: unknown, options?: QueueSendOptions) => real.EVENTS!.send(body, options),
      sendBatch: async (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
        const list = [...messages];
        for (const m of list) sent.push(...(m.body as { events: { subject: string }[] }).events.map((e) => e.subject));
        return real.EVENTS!.sendBatch(list, options);
      },
    } as unknown as Queue;
    // Each request has its own waitUntil and its own D1 session object, as two requests to a
    // service in one isolate do (d1-session.ts), and the isolate's one queue binding.
    const first: Promise<unknown>[] = [];
    const second: Promise<unknown>[] = [];
    const session = () => DB.withSession("first-unconstrained") as unknown as D1Database;
    const a = eventDatabase({ DB: session(), EVENTS: counted }, actorFromIdentity("crm", identity(org)), (p) => first.push(p));
    const b = eventDatabase({ DB: session(), EVENTS: counted }, actorFromIdentity("crm", identity(org)), (p) => second.push(p));
    const insert = (db: D1Database, id: string) =>
      db
        .prepare("INSERT INTO companies (id, organization_id, name, tags, custom_fields, created_at, updated_at) VALUES (?1, ?2, 'X', '[]', '{}', ?3, ?3)")
        .bind(id, org, new Date().toISOString())
        .run();
    const [x, y] = [crypto.randomUUID(), crypto.randomUUID()];
    await insert(a, x);
    await insert(b, y);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(0);
    await Promise.all(first);
    expect(sent.filter((s) => s === x || s === y).sort()).toEqual([x, y].sort());
    const rows = await outboxOf(DB, org);
    expect(rows.map((r) => r.event.subject).sort()).toEqual([x, y].sort());
    for (const r of rows) expect(r.relayed_at).not.toBeNull();
  });

  it("a window with more rows than one claim takes sends them all, held by the one write that opened it", async () => {
    // Windows of earlier writes take every unrelayed row: let them finish, so this test's writes have theirs alone.
    await outboxRelaysSettled();
    const org = crypto.randomUUID();
    const pending: Promise<unknown>[] = [];
    const db = eventDatabase({ DB, EVENTS: real.EVENTS }, actorFromIdentity("crm", identity(org)), (p) => pending.push(p));
    const now = new Date().toISOString();
    // One statement writes 60 rows (60 events), the next 60 more: 120 > RELAY_BATCH (100).
    const many = (n: number) =>
      db
        .prepare(
          `INSERT INTO companies (id, organization_id, name, tags, custom_fields, created_at, updated_at)
           SELECT value, ?1, 'X' || value, '[]', '{}', ?2, ?2 FROM json_each(?3)`,
        )
        .bind(org, now, JSON.stringify(Array.from({ length: n }, () => crypto.randomUUID())))
        .run();
    await many(60);
    await many(60);
    // The writes' own batches claim nothing: the window does, after them.
    expect((await outboxOf(DB, org)).every((r) => r.claimed_at === null)).toBe(true);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    const rows = await outboxOf(DB, org);
    expect(rows).toHaveLength(120);
    expect(new Set(rows.map((r) => r.event.subject)).size).toBe(120);
    for (const r of rows) expect(r.relayed_at).not.toBeNull();
  });

  it("a window's sent rows are marked relayed by the next window's claim, in its batch", async () => {
    // Windows of earlier writes take every unrelayed row: let them finish, so this test's writes have theirs alone.
    await outboxRelaysSettled();
    const org = crypto.randomUUID();
    let firstSent: () => void = () => {};
    const sentOnce = new Promise<void>((r) => {
      firstSent = r;
    });
    const counted = {
      send: (body: unknown, options?: QueueSendOptions) => real.EVENTS!.send(body, options),
      sendBatch: async (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
        await real.EVENTS!.sendBatch(messages, options);
        firstSent();
      },
    } as unknown as Queue;
    const pending: Promise<unknown>[] = [];
    const db = eventDatabase({ DB, EVENTS: counted }, actorFromIdentity("crm", identity(org)), (p) => pending.push(p));
    await insertCompany(db, org).run();
    await sentOnce;
    // The first window has sent its row and waits for a later claim to mark it: this write opens one.
    await insertCompany(db, org).run();
    expect(pending).toHaveLength(2);
    await Promise.all(pending);
    const rows = await outboxOf(DB, org);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.relayed_at).not.toBeNull();
    // Rows in order of writing: the second window's claim time is the first row's mark time.
    expect(rows[0]!.relayed_at).toBe(rows[1]!.claimed_at);
  });

  it("two isolates' windows racing for the same rows send each row once", async () => {
    // Windows of earlier writes take every unrelayed row: let them finish, so this test's writes have theirs alone.
    await outboxRelaysSettled();
    const org = crypto.randomUUID();
    // Two queue bindings stand for two isolates: each has its own window.
    const sent: string[][] = [[], []];
    const queueOf = (i: number) =>
      ({
        send: (body: unknown, options?: QueueSendOptions) => real.EVENTS!.send(body, options),
        sendBatch: async (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          for (const m of list) sent[i]!.push(...(m.body as { events: { subject: string }[] }).events.map((e) => e.subject));
          return real.EVENTS!.sendBatch(list, options);
        },
      }) as unknown as Queue;
    const pending: Promise<unknown>[] = [];
    const dbs = [0, 1].map((i) => eventDatabase({ DB, EVENTS: queueOf(i) }, actorFromIdentity("crm", identity(org)), (p) => pending.push(p)));
    const ids = Array.from({ length: 10 }, () => crypto.randomUUID());
    const now = new Date().toISOString();
    await Promise.all(
      ids.map((id, i) =>
        dbs[i % 2]!.prepare(
          "INSERT INTO companies (id, organization_id, name, tags, custom_fields, created_at, updated_at) VALUES (?1, ?2, 'X', '[]', '{}', ?3, ?3)",
        )
          .bind(id, org, now)
          .run(),
      ),
    );
    expect(pending).toHaveLength(2);
    await Promise.all(pending);
    const mine = (list: string[]) => list.filter((s) => ids.includes(s));
    expect([...mine(sent[0]!), ...mine(sent[1]!)].sort()).toEqual([...ids].sort());
    const rows = await outboxOf(DB, org);
    expect(rows).toHaveLength(10);
    for (const r of rows) expect(r.relayed_at).not.toBeNull();
  });
});

describe("events: sent marks (one mechanism for the relay windows and claimInBatch writers)", () => {
  /** The real queue, calling `onSend` after each send went through. */
  const queueCalling = (onSend: () => void) =>
    ({
      send: (body: unknown, options?: QueueSendOptions) => real.EVENTS!.send(body, options),
      sendBatch: async (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
        await real.EVENTS!.sendBatch(messages, options);
        onSend();
      },
    }) as unknown as Queue;
  /** An event row of `org` written outside the wrappers (as the gateway's writers do), with a given id. */
  const outboxRow = (org: string, id: string) =>
    DB.prepare(
      "INSERT INTO outbox (id, type, source, subject, organization_id, actor_type, time, data) VALUES (?1, 'crm.company.created', '/buildly/crm', ?2, ?3, 'system', ?4, '{}')",
    ).bind(id, crypto.randomUUID(), org, new Date().toISOString());
  /** A window that has sent its write's row and holds its mark: answers the queue, the waitUntil promises and the org. */
  async function windowWithPendingMark() {
    await outboxRelaysSettled();
    const org = crypto.randomUUID();
    let sent: () => void = () => {};
    const sentOnce = new Promise<void>((r) => {
      sent = r;
    });
    const queue = queueCalling(() => sent());
    const pending: Promise<unknown>[] = [];
    const db = eventDatabase({ DB, EVENTS: queue }, actorFromIdentity("crm", identity(org)), (p) => pending.push(p));
    await insertCompany(db, org).run();
    await sentOnce;
    // The window hands its mark in right after the send returns (microtasks, no I/O in between).
    for (let i = 0; i < 1000 && pendingMarks(queue) === 0; i++) await Promise.resolve();
    expect(pendingMarks(queue)).toBe(1);
    const [row] = await outboxOf(DB, org);
    expect(row!.relayed_at).toBeNull();
    expect(row!.claimed_at).not.toBeNull();
    return { queue, pending, org };
  }

  it("a writing batch ended by claimInBatch carries a window's marks: marked in that batch, with its claim's time", async () => {
    const { queue, pending, org } = await windowWithPendingMark();
    const claim = claimInBatch({ DB, EVENTS: queue }, "/buildly/crm", (p) => pending.push(p));
    expect(claim.statements).toHaveLength(2);
    const results = await DB.batch([outboxRow(org, crypto.randomUUID()), ...claim.statements]);
    expect(pendingMarks(queue)).toBe(0);
    expect(claim.relay(results.slice(1))).toBe(1);
    const [first, second] = await outboxOf(DB, org);
    expect(first!.relayed_at).not.toBeNull();
    expect(first!.relayed_at).toBe(second!.claimed_at);
    // The window that sent the first row ends without a mark of its own; the writer's window sends and marks the second.
    await Promise.all(pending);
    expect(pendingMarks(queue)).toBe(0);
    for (const r of await outboxOf(DB, org)) expect(r.relayed_at).not.toBeNull();
  });

  it("marks no claim carries are written by their sender after MARKS_WAIT_MS, in a statement of their own", async () => {
    const { queue, pending, org } = await windowWithPendingMark();
    await Promise.all(pending);
    expect(pendingMarks(queue)).toBe(0);
    const [row] = await outboxOf(DB, org);
    expect(row!.relayed_at).not.toBeNull();
    // Not the claim's batch: the sender waited for a claim to carry the mark first.
    expect(Date.parse(row!.relayed_at!) - Date.parse(row!.claimed_at!)).toBeGreaterThanOrEqual(MARKS_WAIT_MS);
  });

  it("marks carried by a batch that fails are given back, and written once it has failed", async () => {
    const { queue, pending, org } = await windowWithPendingMark();
    const claim = claimInBatch({ DB, EVENTS: queue }, "/buildly/crm", (p) => pending.push(p));
    expect(pendingMarks(queue)).toBe(0);
    const id = crypto.randomUUID();
    // The same event id twice breaks the outbox's unique index: the whole batch rolls back, its mark with it.
    await expect(DB.batch([outboxRow(org, id), outboxRow(org, id), ...claim.statements])).rejects.toThrow(/UNIQUE/);
    claim.failed();
    expect(pendingMarks(queue)).toBe(1);
    const rows = await outboxOf(DB, org);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.relayed_at).toBeNull();
    await Promise.all(pending);
    expect(pendingMarks(queue)).toBe(0);
    expect((await outboxOf(DB, org))[0]!.relayed_at).not.toBeNull();
  });

  it("a claim whose batch fails gives its marks back; the next claim carries them", async () => {
    const { queue, pending, org } = await windowWithPendingMark();
    // A claimInBatch writer's batch fails after taking the marks and hands them back; a later claim carries them.
    const failing = claimInBatch({ DB, EVENTS: queue }, "/buildly/crm", (p) => pending.push(p));
    await expect(DB.batch([DB.prepare("INSERT INTO no_such_table VALUES (1)"), ...failing.statements])).rejects.toThrow();
    failing.failed();
    const next = claimInBatch({ DB, EVENTS: queue }, "/buildly/crm", (p) => pending.push(p));
    expect(next.statements).toHaveLength(2);
    const results = await DB.batch([outboxRow(org, crypto.randomUUID()), ...next.statements]);
    next.relay(results.slice(1));
    const [first, second] = await outboxOf(DB, org);
    expect(first!.relayed_at).toBe(second!.claimed_at);
    await Promise.all(pending);
    expect(pendingMarks(queue)).toBe(0);
  });
});
