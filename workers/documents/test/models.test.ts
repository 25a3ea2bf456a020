import { describe, expect, it } from "vitest";
import { ORG_B } from "@buildly/shared/test";
import { queryPlan, recordingD1 } from "@buildly/shared/test";
import { models } from "../src/models";
import { DB, folder, freshOrg, identity, rpc, serviceClient, testEnv, uploaded } from "./helpers";

describe("getMany (the data mesh's batched read)", () => {
  it("reads files and folders by id within the caller's organization, shaped like the API", async () => {
    const { org, client } = freshOrg();
    const dir = await folder(client, "Mesh");
    const f1 = await uploaded(client, "one.txt", undefined, `&folder_id=${dir.id}&tags=contact:x`);
    const f2 = await uploaded(client, "two.txt");
    const theirs = await uploaded(serviceClient(rpc, ORG_B), "theirs.txt");
    const theirFolder = await folder(serviceClient(rpc, ORG_B), `theirs-${crypto.randomUUID()}`);

    const files = await rpc.getMany("files", [f1.id, f2.id, theirs.id, crypto.randomUUID(), f1.id], identity(org));
    expect(files.ok).toBe(true);
    const data = (files as { data: any[] }).data;
    expect(data.map((f) => f.id).sort()).toEqual([f1.id, f2.id].sort());
    // The same bytes as the API's read (fields in the same order: the joined page embeds them as they come).
    for (const f of [f1, f2]) expect(JSON.stringify(data.find((d) => d.id === f.id))).toBe(await (await client.get(`/files/${f.id}`)).text());

    const folders = await rpc.getMany("folders", [dir.id, theirFolder.id], identity(org));
    expect(folders).toEqual({ ok: true, data: [await (await client.get(`/folders/${dir.id}`)).json()] });

    // The other organization sees only its own.
    const fromB = await rpc.getMany("files", [f1.id, theirs.id], identity(ORG_B));
    expect((fromB as { data: any[] }).data.map((f) => f.id)).toEqual([theirs.id]);
    expect(await rpc.getMany("files", [], identity(org))).toEqual({ ok: true, data: [] });
  });

  it("leaves out a file being deleted (a tombstone), in one query by a unique index", async () => {
    const { org, client } = freshOrg();
    const kept = await uploaded(client, "kept.txt");
    const going = await uploaded(client, "going.txt");
    await DB.prepare("UPDATE files SET status = 'deleting' WHERE id = ?").bind(going.id).run();
    const recorded = recordingD1(DB);
    const rows = await models.files!.getMany({ ...testEnv, DB: recorded.db }, org, [kept.id, going.id]);
    expect(rows.map((r) => r.id)).toEqual([kept.id]);
    expect(recorded.statements.length).toBe(1);
    expect((await queryPlan(DB, recorded.statements[0]!)).join(" | ")).toMatch(
      /SEARCH files USING INDEX sqlite_autoindex_files_\d \((organization_id=\? AND )?id=\?\)/,
    );
  });

  it("takes up to 100 ids in one call (one query, whatever D1's bound-parameter limit)", async () => {
    const { org, client } = freshOrg();
    const file = await uploaded(client, "needle.txt");
    const ids = [file.id, ...Array.from({ length: 99 }, () => crypto.randomUUID())];
    const res = await rpc.getMany("files", ids, identity(org));
    expect(res).toEqual({ ok: true, data: [expect.objectContaining({ id: file.id })] });
  });

  it("answers an unknown model with 404, too many or malformed ids with 422, no context with 401", async () => {
    const unknown = await rpc.getMany("contacts", [crypto.randomUUID()], identity());
    expect(unknown).toMatchObject({ ok: false, error: { status: 404 } });
    const tooMany = await rpc.getMany(
      "files",
      Array.from({ length: 101 }, () => crypto.randomUUID()),
      identity(),
    );
    expect(tooMany).toMatchObject({ ok: false, error: { status: 422 } });
    const malformed = await rpc.getMany("folders", ["not-a-uuid"], identity());
    expect(malformed).toMatchObject({ ok: false, error: { status: 422 } });
    const noContext = await rpc.getMany("files", [crypto.randomUUID()], { organization_id: "" });
    expect(noContext).toMatchObject({ ok: false, error: { status: 401 } });
  });
});
