// Workflows: the D1 index and the transition events off the answer's path (issue 25). An instance's
// object answers a transition once it is durable in its own storage (state, history, and the alarm
// that retries the index write), then writes the index with the transitions' outbox rows. These
// tests make that write fail for real (a trigger in D1 refuses it) and stop the object between
// its answer and the write, and show the index catching up with every transition's event once.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, json, registerOrganization, type Account, ok, waitFor } from "./helpers";
import { indexerName, type WorkflowIndexer } from "../src/workflows/indexer";
import { INDEX_UPDATE_SPACING_MS } from "../src/workflows/instance";
import { COUNTER_TEMPLATE } from "./workflow-helpers";

let admin: Account;
let templateId: string;

const as = (token: string) => ({
  get: (path: string) => call(path, bearer(token)),
  post: (path: string, body: unknown) => call(path, bearer(token, json("POST", body))),
});

const take = (id: string, body: Record<string, unknown>) => as(admin.access_token).post(`/v1/workflows/instances/${id}/transitions`, body);
const start = async () => ok(as(admin.access_token).post("/v1/workflows/instances", { template_id: templateId }), 201);
const stubOf = (id: string) => env.WORKFLOWS.getByName(`${admin.organization_id}:${id}`) as unknown as DurableObjectStub;
const indexerOf = (id: string) => env.WORKFLOW_INDEX.getByName(indexerName(admin.organization_id, id)) as unknown as DurableObjectStub<WorkflowIndexer>;

/** The instance's row in the index, as the list reads it. */
async function indexed(id: string): Promise<{ state: string; version: number }> {
  const row = await env.DB.prepare("SELECT state, version FROM workflow_instances WHERE id = ?1").bind(id).first<{ state: string; version: number }>();
  return row!;
}

/** The instance's transition events in the gateway's outbox: id -> rows with that id. */
async function outboxOf(id: string): Promise<Record<string, number>> {
  const rows = await env.DB.prepare("SELECT id, count(*) AS n FROM outbox WHERE id LIKE ?1 GROUP BY id ORDER BY id")
    .bind(`wf-${id}-v%`)
    .all<{ id: string; n: number }>();
  return Object.fromEntries(rows.results.map((r) => [r.id, r.n]));
}

const eventIds = (id: string, versions: number[]) => Object.fromEntries(versions.map((v) => [`wf-${id}-v${v}`, 1]));

async function historyVersions(id: string): Promise<number[]> {
  const page: any = await ok(as(admin.access_token).get(`/v1/workflows/instances/${id}/history?limit=100`));
  return page.data.map((e: any) => e.version);
}

/** Refuses every index write of one instance, as a D1 that cannot be written would, until `restore()`. */
async function refuseIndexWrites(id: string): Promise<{ restore(): Promise<void> }> {
  const trigger = `"refuse_index_${id}"`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE ON workflow_instances WHEN OLD.id = '${id}' BEGIN SELECT RAISE(ABORT, 'index write refused'); END`,
  ).run();
  return { restore: async () => void (await env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run()) };
}

/** The audit trail's entries of the instance's transitions (they come through the queue). */
async function auditedVersions(id: string): Promise<number[]> {
  const page: any = await ok(as(admin.access_token).get("/v1/audit?type=workflows.instance.transitioned&limit=100"));
  return page.data
    .filter((e: any) => e.subject === id)
    .map((e: any) => e.data.version as number)
    .sort((a: number, b: number) => a - b);
}

beforeAll(async () => {
  admin = await registerOrganization("Workflow index");
  const t = await ok(as(admin.access_token).post("/v1/workflows/templates", COUNTER_TEMPLATE), 201);
  templateId = t.id;
});

describe("the index off the answer's path", () => {
  it("an object stopped between its answers and the index write catches the index up as it starts again, each transition's event once", async () => {
    const i = await start();
    const refused = await refuseIndexWrites(i.id);
    try {
      for (const v of [2, 3, 4]) expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: v });
      // Answered, durable in the object, but neither in the index nor in the outbox (the batch that carries both failed).
      expect(await indexed(i.id)).toEqual({ state: "open", version: 1 });
      expect(await outboxOf(i.id)).toEqual({});
      // The crash: the object goes, with everything it held in memory.
      await evictDurableObject(stubOf(i.id));
      expect(await indexed(i.id)).toEqual({ state: "open", version: 1 });
    } finally {
      await refused.restore();
    }
    // The next access starts the object again, which finds its index behind and writes it.
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ version: 4 });
    await waitFor(async () => ((await indexed(i.id)).version === 4 ? true : undefined));
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2, 3, 4]));
    expect(await historyVersions(i.id)).toEqual([1, 2, 3, 4]);
    // Running the alarm and restarting again write nothing twice.
    await runDurableObjectAlarm(stubOf(i.id));
    await evictDurableObject(stubOf(i.id));
    expect(await ok(take(i.id, { transition: "close" }))).toMatchObject({ version: 5, state: "closed" });
    await waitFor(async () => ((await indexed(i.id)).version === 5 ? true : undefined));
    expect(await indexed(i.id)).toEqual({ state: "closed", version: 5 });
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2, 3, 4, 5]));
    // And each reaches the audit trail once.
    const audited = await waitFor(async () => {
      const v = await auditedVersions(i.id);
      return v.length >= 4 ? v : undefined;
    });
    expect(audited).toEqual([2, 3, 4, 5]);
  });

  it("transitions in quick succession after an update wait for the spacing, then reach the index, the outbox and the audit trail each once", async () => {
    const i = await start();
    expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: 2 });
    // The first update after a quiet spell leaves at once.
    await waitFor(async () => ((await indexed(i.id)).version === 2 ? true : undefined));
    // The next ones come within INDEX_UPDATE_SPACING_MS of it: one later update carries them all.
    for (const v of [3, 4, 5, 6, 7]) expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: v });
    await waitFor(async () => ((await indexed(i.id)).version === 7 ? true : undefined), INDEX_UPDATE_SPACING_MS + 20_000);
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2, 3, 4, 5, 6, 7]));
    const audited = await waitFor(async () => {
      const v = await auditedVersions(i.id);
      return v.length >= 6 ? v : undefined;
    });
    expect(audited).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it("a write through the indexer stores the object's evented version with its next change, not in a storage write of its own; a restart in between writes nothing twice", async () => {
    const i = await start();
    const stored = () => runInDurableObject(stubOf(i.id), (_: unknown, state: DurableObjectState) => state.storage.kv.get<number>("evented_version"));
    // The alarm (at most 10 s ahead) would store it too: taken away, so only the transitions can.
    const noAlarm = () => runInDurableObject(stubOf(i.id), (_: unknown, state: DurableObjectState) => state.storage.deleteAlarm());
    expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: 2 });
    await noAlarm();
    await waitFor(async () => ((await indexed(i.id)).version === 2 ? true : undefined));
    // In D1 (index and outbox), but the object has not spent a storage write on saying so.
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2]));
    expect(await stored()).toBeUndefined();
    // The next transition's commit carries it; its own index write again waits for the one after.
    expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: 3 });
    await noAlarm();
    await waitFor(async () => ((await indexed(i.id)).version === 3 ? true : undefined));
    expect(await stored()).toBe(2);
    // A crash now: the object starts again behind by version 3 and sends it again, which adds nothing.
    await evictDurableObject(stubOf(i.id));
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ version: 3 });
    await waitFor(async () => ((await stored()) === 3 ? true : undefined));
    expect(await indexed(i.id)).toEqual({ state: "open", version: 3 });
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2, 3]));
    expect(await historyVersions(i.id)).toEqual([1, 2, 3]);
    const audited = await waitFor(async () => {
      const v = await auditedVersions(i.id);
      return v.length >= 2 ? v : undefined;
    });
    expect(audited).toEqual([2, 3]);
  });

  it("the alarm a transition set brings the index in step when the object is not asked again", async () => {
    const i = await start();
    const refused = await refuseIndexWrites(i.id);
    try {
      expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: 2 });
      expect(await ok(take(i.id, { transition: "close" }))).toMatchObject({ version: 3 });
      // The alarm is set with the transitions, at most SYNC_SAFETY_MS (10 s) after them: the bound on the index's lag.
      const alarm = await runInDurableObject(stubOf(i.id), (_: unknown, state: DurableObjectState) => state.storage.getAlarm());
      expect(alarm).not.toBeNull();
      expect(alarm!).toBeLessThanOrEqual(Date.now() + 10_000);
      await evictDurableObject(stubOf(i.id));
    } finally {
      await refused.restore();
    }
    // No request asks the object: its alarm (durable with the transitions) starts it; the index is in step when it returns.
    await runDurableObjectAlarm(stubOf(i.id));
    expect(await indexed(i.id)).toEqual({ state: "closed", version: 3 });
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2, 3]));
    expect(await historyVersions(i.id)).toEqual([1, 2, 3]);
  });

  it("concurrent transitions stay serialized: expected_version admits one, the rest take gapless versions, each once in the index's outbox", async () => {
    const i = await start();
    const raced = await Promise.all(Array.from({ length: 10 }, () => take(i.id, { transition: "tick", expected_version: 1 })));
    expect(raced.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of raced) await r.body?.cancel();
    const answers = await Promise.all(Array.from({ length: 40 }, () => ok(take(i.id, { transition: "tick" }))));
    const versions = answers.map((a: any) => a.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 40 }, (_, n) => n + 3));
    // A stale expected_version is still refused with where the instance is.
    const stale = await take(i.id, { transition: "tick", expected_version: 2 });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ version: 42 });
    expect(await historyVersions(i.id)).toEqual(Array.from({ length: 42 }, (_, n) => n + 1));
    await waitFor(async () => ((await indexed(i.id)).version === 42 ? true : undefined));
    expect(await outboxOf(i.id)).toEqual(
      eventIds(
        i.id,
        Array.from({ length: 41 }, (_, n) => n + 2),
      ),
    );
  });

  it("instances that share an indexer share its batch; one instance's refused row holds back none of the others', and its alarm catches it up", async () => {
    // Instances until four share one indexer (one of INDEXER_SHARDS per organization).
    const byIndexer = new Map<string, string[]>();
    let group: string[] = [];
    while (group.length < 4) {
      const i = await start();
      const name = indexerName(admin.organization_id, i.id);
      group = [...(byIndexer.get(name) ?? []), i.id];
      byIndexer.set(name, group);
    }
    const [refusedId, ...others] = group as [string, ...string[]];
    const refused = await refuseIndexWrites(refusedId);
    try {
      const answers = await Promise.all(group.map((id) => ok(take(id, { transition: "tick" }))));
      expect(answers.map((a: any) => a.version)).toEqual([2, 2, 2, 2]);
      for (const id of others) {
        await waitFor(async () => ((await indexed(id)).version === 2 ? true : undefined));
        expect(await outboxOf(id)).toEqual(eventIds(id, [2]));
      }
      expect(await indexed(refusedId)).toEqual({ state: "open", version: 1 });
      expect(await outboxOf(refusedId)).toEqual({});
    } finally {
      await refused.restore();
    }
    // Its object counted nothing written: the alarm (a retry soon after the failure) writes it, directly.
    await waitFor(async () => {
      await runDurableObjectAlarm(stubOf(refusedId));
      return (await indexed(refusedId)).version === 2 ? true : undefined;
    });
    expect(await outboxOf(refusedId)).toEqual(eventIds(refusedId, [2]));
    expect(await historyVersions(refusedId)).toEqual([1, 2]);
  });

  it("an indexer holds nothing durable: updates waiting in one that stops are not in D1, and the objects that sent them catch up", async () => {
    const i = await start();
    expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: 2 });
    expect(await ok(take(i.id, { transition: "tick" }))).toMatchObject({ version: 3 });
    // An update waiting in the indexer's window when the indexer stops (reset in the same turn, before its window ends).
    const lost = {
      organization_id: admin.organization_id,
      id: i.id,
      state: "lost",
      terminal: false,
      version: 99,
      updated_at: new Date().toISOString(),
      events: [],
    };
    const stopped = runInDurableObject(indexerOf(i.id), async (indexer: WorkflowIndexer, state: DurableObjectState) => {
      void indexer.write(lost).catch(() => undefined);
      state.abort("stopped with an update waiting");
    }) as Promise<unknown>;
    await stopped.catch(() => undefined);
    // The instance's own updates may have been waiting in it too: whatever the indexer did not
    // confirm, the object's alarm (set with each transition) writes. The lost one is nowhere.
    await runDurableObjectAlarm(stubOf(i.id));
    expect(await indexed(i.id)).toEqual({ state: "open", version: 3 });
    expect(await outboxOf(i.id)).toEqual(eventIds(i.id, [2, 3]));
  });
});
