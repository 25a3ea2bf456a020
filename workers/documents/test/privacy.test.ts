import { describe, expect, it } from "vitest";
import { identity } from "@buildly/shared/test";
import { DB, freshOrg, objectsWith, putContent, rpc, text, uploaded } from "./helpers";

const subject = (files: string[]) => ({ emails: [], contact_ids: [], user_ids: [], linked: { files } });

describe("the documents service's privacy declarations and subject RPCs", () => {
  it("declares files found through the mesh's join records and deleted on erasure; folders hold no personal data", async () => {
    const catalog = await rpc.describe();
    const pd = Object.fromEntries(catalog.models.map((m) => [m.name, m.personal_data]));
    expect(pd.files).toEqual({ fields: ["name"], found_by: { linked: "id" }, erasure: { action: "delete" } });
    expect(pd.folders).toMatchObject({ found_by: {}, erasure: { action: "keep" } });
  });

  it("finds the linked files of the organization, previews, then deletes them with every version's body in R2", async () => {
    const { org, client } = freshOrg();
    const other = freshOrg();
    const cv = await uploaded(client, "cv-grace-hopper.txt", text("Grace Hopper, grace@navy.example"));
    expect((await putContent(client, cv.id, text("Grace Hopper, v2"))).status).toBe(200);
    const letter = await uploaded(client, "letter.txt", text("Dear Grace"));
    const unrelated = await uploaded(client, "other.txt", text("someone else"));
    const foreign = await uploaded(other.client, "cv-grace-hopper.txt", text("Grace Hopper, grace@navy.example"));
    expect(await objectsWith(cv.id)).toHaveLength(2);

    const found = await rpc.findBySubject(subject([cv.id, letter.id, foreign.id]), identity(org));
    if (!found.ok) throw new Error(JSON.stringify(found.error));
    expect(found.data.map((m) => [m.model, m.records.map((r) => r.id).sort()])).toEqual([["files", [cv.id, letter.id].sort()]]);

    const preview = await rpc.eraseBySubject(subject([cv.id, letter.id, foreign.id]), { dry_run: true, held: { files: [letter.id] } }, identity(org));
    if (!preview.ok) throw new Error(JSON.stringify(preview.error));
    expect(preview.data).toEqual([
      { model: "files", action: "delete", ids: [cv.id], held: [letter.id], kept: [], legal_basis: null, objects_deleted: 0, remaining: false },
    ]);
    expect(await objectsWith(cv.id)).toHaveLength(2);

    const run = await rpc.eraseBySubject(subject([cv.id, letter.id, foreign.id]), { dry_run: false, held: { files: [letter.id] } }, identity(org));
    if (!run.ok) throw new Error(JSON.stringify(run.error));
    expect(run.data[0]).toMatchObject({ ids: [cv.id], held: [letter.id], objects_deleted: 2 });
    expect(await objectsWith(cv.id)).toHaveLength(0);
    const left = await DB.prepare("SELECT id FROM files WHERE id IN (?, ?, ?, ?) ORDER BY id")
      .bind(cv.id, letter.id, unrelated.id, foreign.id)
      .all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([letter.id, unrelated.id, foreign.id].sort());
    expect(await DB.prepare("SELECT count(*) AS n FROM file_versions WHERE file_id = ?").bind(cv.id).first("n")).toBe(0);
    expect(await DB.prepare("SELECT count(*) AS n FROM outbox WHERE subject = ?").bind(cv.id).first("n")).toBe(0);
    expect(await DB.prepare("SELECT count(*) AS n FROM files_fts WHERE file_id = ?").bind(cv.id).first("n")).toBe(0);
    // The other organization's file with the same content is untouched, body and all.
    expect(await objectsWith(foreign.id)).toHaveLength(1);
  });
});
