/**
 * What happens when one step of a delete or an upload really fails: a D1 statement refused by a
 * trigger the test installs, an R2 delete refused for an invalid key. No mocks: the service
 * runs its real code against the real stores, and a store says no.
 */
import { afterEach, describe, expect, it } from "vitest";
import { exports } from "cloudflare:workers";
import { TOMBSTONE_GRACE_MS, UPLOAD_GRACE_MS, sweep } from "../src/storage/purge";
import { DB, bucket, count, folder, freshOrg, listAll, objectsWith, putContent, randomBytes, row, rpc, testEnv, text, upload, uploaded } from "./helpers";

const triggers: string[] = [];
async function failWhen(name: string, sql: string) {
  triggers.push(name);
  // exec() runs one statement per line.
  await DB.exec(`CREATE TRIGGER ${name} ${sql.replace(/\s+/g, " ")}`);
}
afterEach(async () => {
  for (const name of triggers.splice(0)) await DB.exec(`DROP TRIGGER IF EXISTS ${name}`);
});

const later = (ms: number) => new Date(Date.now() + ms + 1000);

describe("a delete that fails half-way", () => {
  it("when the D1 step fails after the objects are gone: the file is already invisible, and a retry finishes", async () => {
    const { org, client } = freshOrg();
    const file = await uploaded(client, "undeletable.txt", randomBytes(50), "&tags=t");
    expect((await putContent(client, file.id, randomBytes(60))).status).toBe(200);
    await failWhen("fail_file_delete", `BEFORE DELETE ON files WHEN old.id = '${file.id}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);

    const res = await client.delete(`/files/${file.id}`);
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toMatch(/injected/);
    // The row is a tombstone: no read, list, tag filter or getMany shows it, no version can be added.
    expect(await row("SELECT status FROM files WHERE id = ?", file.id)).toEqual({ status: "deleting" });
    expect((await client.get(`/files/${file.id}`)).status).toBe(404);
    expect((await client.get(`/files/${file.id}/content`)).status).toBe(404);
    expect((await client.get(`/files/${file.id}/versions/1/content`)).status).toBe(404);
    expect((await client.patch(`/files/${file.id}`, { name: "back.txt" })).status).toBe(404);
    expect((await putContent(client, file.id, text("resurrect"))).status).toBe(404);
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await listAll(client, "/files?tag=t")).toEqual([]);
    const many = await rpc.getMany("files", [file.id], { request_id: "r-1", user_id: null, organization_id: org, roles: [], permissions: {} });
    expect(many).toEqual({ ok: true, data: [] });
    expect(await objectsWith(file.id)).toEqual([]);

    // Retrying the DELETE finishes the job.
    expect((await client.delete(`/files/${file.id}`)).status).toBe(500);
    await DB.exec("DROP TRIGGER fail_file_delete");
    expect((await client.delete(`/files/${file.id}`)).status).toBe(204);
    expect(await row("SELECT id FROM files WHERE id = ?", file.id)).toBeNull();
    expect(await count("SELECT count(*) AS n FROM file_versions WHERE file_id = ?", file.id)).toBe(0);
    expect((await client.delete(`/files/${file.id}`)).status).toBe(404);
  });

  it("when R2 refuses the delete: every object is still there, and a retry finishes", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "stuck.txt", randomBytes(50));
    expect((await putContent(client, file.id, randomBytes(60))).status).toBe(200);
    const realKey = (await row<{ object_key: string }>("SELECT object_key FROM file_versions WHERE file_id = ? AND version = 2", file.id))!.object_key;
    // A key R2 rejects (longer than 1024 bytes) makes the batch delete fail for real.
    await DB.prepare("UPDATE file_versions SET object_key = ? WHERE file_id = ? AND version = 2").bind("k".repeat(1100), file.id).run();

    const res = await client.delete(`/files/${file.id}`);
    expect(res.status).toBe(500);
    expect(await row("SELECT status FROM files WHERE id = ?", file.id)).toEqual({ status: "deleting" });
    expect((await client.get(`/files/${file.id}`)).status).toBe(404);
    // The batch failed whole: both bodies are still stored, the row still names them.
    expect(await objectsWith(file.id)).toHaveLength(2);

    await DB.prepare("UPDATE file_versions SET object_key = ? WHERE file_id = ? AND version = 2").bind(realKey, file.id).run();
    expect((await client.delete(`/files/${file.id}`)).status).toBe(204);
    expect(await objectsWith(file.id)).toEqual([]);
    expect(await row("SELECT id FROM files WHERE id = ?", file.id)).toBeNull();
  });

  it("the scheduled sweep finishes tombstones left behind (and leaves fresh ones to their own request)", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "left-behind.txt", randomBytes(10));
    await failWhen("fail_sweep_delete", `BEFORE DELETE ON files WHEN old.id = '${file.id}' BEGIN SELECT RAISE(ABORT, 'injected'); END`);
    expect((await client.delete(`/files/${file.id}`)).status).toBe(500);
    await DB.exec("DROP TRIGGER fail_sweep_delete");

    await sweep(testEnv, new Date());
    expect(await row("SELECT status FROM files WHERE id = ?", file.id)).toEqual({ status: "deleting" });
    const report = await sweep(testEnv, later(TOMBSTONE_GRACE_MS));
    expect(report.files).toBeGreaterThanOrEqual(1);
    expect(await row("SELECT id FROM files WHERE id = ?", file.id)).toBeNull();
    expect(await objectsWith(file.id)).toEqual([]);
  });

  it("a recursive folder delete that meets a newcomer stops with 409, and a retry finishes", async () => {
    const { org, client } = freshOrg();
    const top = await folder(client, "racy");
    const inner = await folder(client, "inner", top.id);
    const file = await uploaded(client, "in.txt", randomBytes(10), `&folder_id=${inner.id}`);
    // While the folders are being deleted, a new sub-folder appears inside (as a concurrent request could make one).
    await failWhen(
      "sneak_in",
      `BEFORE DELETE ON folders WHEN old.id = '${inner.id}' BEGIN
         INSERT INTO folders (id, organization_id, parent_id, name, created_by, created_at, updated_at)
         VALUES ('${crypto.randomUUID()}', '${org}', '${inner.id}', 'late', NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
       END`,
    );
    const res = await client.delete(`/folders/${top.id}?recursive=true`);
    expect(res.status).toBe(409);
    expect((await res.json<any>()).detail).toMatch(/retry/);
    // The folders stay, the file inside is already gone from view and from R2.
    expect((await client.get(`/folders/${top.id}`)).status).toBe(200);
    expect((await client.get(`/files/${file.id}`)).status).toBe(404);
    expect(await objectsWith(file.id)).toEqual([]);

    await DB.exec("DROP TRIGGER sneak_in");
    expect((await client.delete(`/folders/${top.id}?recursive=true`)).status).toBe(204);
    expect(await listAll(client, "/folders")).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM files WHERE organization_id = ?", org)).toBe(0);
  });
});

describe("an upload that fails", () => {
  it("when D1 refuses the record after the body is stored: no object, no row, no journal entry", async () => {
    const { org, client } = freshOrg();
    await failWhen(
      "fail_version_insert",
      `BEFORE INSERT ON file_versions WHEN new.content_type = 'application/x-fail' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
    const res = await upload(client, "doomed.bin", randomBytes(1000), { "content-type": "application/x-fail" });
    expect(res.status).toBe(500);
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM files WHERE organization_id = ?", org)).toBe(0);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);

    // A new version refused the same way leaves the file at its old version, with only its old object.
    const file = await uploaded(client, "ok.bin", randomBytes(10));
    const v2 = await putContent(client, file.id, randomBytes(20), { "content-type": "application/x-fail" });
    expect(v2.status).toBe(500);
    expect(await (await client.get(`/files/${file.id}`)).json()).toEqual(file);
    expect(await objectsWith(file.id)).toHaveLength(1);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
  });

  it("when the sweep took the upload for abandoned while it streamed: nothing is recorded, nothing kept", async () => {
    const { org, client } = freshOrg();
    // As if sweep() had run mid-upload: the journal entry disappears as soon as it is written.
    await failWhen(
      "steal_journal",
      `AFTER INSERT ON uploads WHEN new.organization_id = '${org}' BEGIN DELETE FROM uploads WHERE object_key = new.object_key; END`,
    );
    const res = await upload(client, "slow.bin", randomBytes(100));
    expect(res.status).toBe(500);
    expect(await count("SELECT count(*) AS n FROM files WHERE organization_id = ?", org)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM file_versions WHERE organization_id = ?", org)).toBe(0);
    expect(await objectsWith(org)).toEqual([]);
  });

  it("when the folder is deleted while the body streams in: 422, and nothing kept", async () => {
    const { org, client } = freshOrg();
    const dir = await folder(client, "vanishing");
    // The folder goes away between the check and the record, as a concurrent DELETE could make it.
    await failWhen("drop_folder", `AFTER INSERT ON uploads WHEN new.organization_id = '${org}' BEGIN DELETE FROM folders WHERE id = '${dir.id}'; END`);
    const res = await upload(client, "late.txt", randomBytes(100), {}, `&folder_id=${dir.id}`);
    expect(res.status).toBe(422);
    expect((await res.json<any>()).errors).toEqual([{ path: "query.folder_id", message: expect.stringMatching(/does not exist/) }]);
    expect(await count("SELECT count(*) AS n FROM files WHERE organization_id = ?", org)).toBe(0);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
  });

  it("the scheduled sweep deletes the objects of uploads that never finished", async () => {
    const org = crypto.randomUUID();
    const staleKey = `${org}/${crypto.randomUUID()}/${crypto.randomUUID()}`;
    const freshKey = `${org}/${crypto.randomUUID()}/${crypto.randomUUID()}`;
    for (const key of [staleKey, freshKey]) {
      await bucket.put(key, "partial body");
      await DB.prepare("INSERT INTO uploads (object_key, organization_id, file_id, started_at) VALUES (?, ?, ?, ?)")
        .bind(key, org, key.split("/")[1], key === staleKey ? new Date(Date.now() - UPLOAD_GRACE_MS - 60_000).toISOString() : new Date().toISOString())
        .run();
    }
    const report = await sweep(testEnv);
    expect(report.uploads).toBeGreaterThanOrEqual(1);
    expect(await bucket.head(staleKey)).toBeNull();
    expect(await row("SELECT object_key FROM uploads WHERE object_key = ?", staleKey)).toBeNull();
    // An upload still in its grace period is left alone.
    expect(await bucket.head(freshKey)).not.toBeNull();
    expect(await row("SELECT object_key FROM uploads WHERE object_key = ?", freshKey)).not.toBeNull();
  });

  it("runs the sweep from the cron trigger", async () => {
    const org = crypto.randomUUID();
    const key = `${org}/${crypto.randomUUID()}/${crypto.randomUUID()}`;
    await bucket.put(key, "x");
    await DB.prepare("INSERT INTO uploads (object_key, organization_id, file_id, started_at) VALUES (?, ?, ?, ?)")
      .bind(key, org, crypto.randomUUID(), "2000-01-01T00:00:00.000Z")
      .run();
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const worker = (await import("../src/index")).default;
    await worker.scheduled({ cron: "*/30 * * * *", scheduledTime: Date.now(), type: "scheduled", noRetry() {} } as ScheduledController, testEnv, ctx);
    await Promise.all(pending);
    expect(await bucket.head(key)).toBeNull();
    expect(exports).toBeDefined();
  });
});
