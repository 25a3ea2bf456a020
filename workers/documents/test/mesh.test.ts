import { describe, expect, it } from "vitest";
import { ORG_B, catalogMismatches, queryPlan, recordingD1 } from "@buildly/shared/test";
import { models } from "../src/models";
import { DB, folder, freshOrg, identity, rpc, testEnv, uploaded } from "./helpers";

const newest = (rows: any[]) => [...rows].sort((x, y) => (y.created_at === x.created_at ? (y.id > x.id ? 1 : -1) : y.created_at > x.created_at ? 1 : -1));

describe("describe (the documents service's catalog)", () => {
  it("names folders and files with their fields, references and lookups", async () => {
    const catalog = await rpc.describe();
    expect(catalog.service).toBe("documents");
    expect(catalog.models.map((m) => [m.name, m.path, m.title])).toEqual([
      ["folders", "/folders", "Folder"],
      ["files", "/files", "File"],
    ]);
    const files = catalog.models.find((m) => m.name === "files")!;
    expect(files.fields.find((f) => f.name === "folder_id")).toEqual({
      name: "folder_id",
      type: "uuid",
      nullable: true,
      references: { service: "documents", model: "folders" },
      lookup: true,
    });
    expect(files.fields.find((f) => f.name === "size")).toEqual({ name: "size", type: "integer" });
    expect(files.fields.find((f) => f.name === "tags")).toEqual({ name: "tags", type: "array" });
    const folders = catalog.models.find((m) => m.name === "folders")!;
    expect(folders.fields.find((f) => f.name === "parent_id")).toMatchObject({ references: { service: "documents", model: "folders" }, lookup: true });
  });

  it("agrees field for field with the OpenAPI document's component schemas", async () => {
    const { client } = freshOrg();
    const doc = await (await client.get("/openapi.json")).json<any>();
    expect(catalogMismatches(await rpc.describe(), doc, { folders: "Folder", files: "File" })).toEqual([]);
    const broken = await rpc.describe();
    broken.models[1]!.fields = broken.models[1]!.fields.filter((f) => f.name !== "sha256");
    expect(catalogMismatches(broken, doc, { folders: "Folder", files: "File" })).toEqual(["files: File.sha256 is not in the catalog"]);
  });
});

describe("findBy", () => {
  it("finds files by folder and folders by parent, newest first, capped per value, within the organization", async () => {
    const { org, client } = freshOrg();
    const one = await folder(client, "One");
    const two = await folder(client, "Two");
    const sub = await folder(client, "Sub", one.id);
    const inOne = [];
    for (let i = 0; i < 3; i++) inOne.push(await uploaded(client, `f${i}.txt`, undefined, `&folder_id=${one.id}`));
    const inTwo = await uploaded(client, "t.txt", undefined, `&folder_id=${two.id}`);
    await uploaded(client, "top.txt");

    const res = await rpc.findBy("files", "folder_id", [one.id, two.id, crypto.randomUUID()], 2, identity(org));
    expect(res.ok).toBe(true);
    const data = (res as { data: any[] }).data;
    expect(new Set(data.map((f) => f.id))).toEqual(new Set([...newest(inOne).slice(0, 2), inTwo].map((f) => f.id)));
    expect(data.find((f) => f.id === inTwo.id)).toEqual(await (await client.get(`/files/${inTwo.id}`)).json());

    expect(await rpc.findBy("folders", "parent_id", [one.id, two.id], 5, identity(org))).toEqual({
      ok: true,
      data: [await (await client.get(`/folders/${sub.id}`)).json()],
    });
    // Another organization asking for the same folders sees nothing.
    expect(await rpc.findBy("files", "folder_id", [one.id, two.id], 5, identity(ORG_B))).toEqual({ ok: true, data: [] });
    expect(await rpc.findBy("folders", "parent_id", [one.id], 5, identity(ORG_B))).toEqual({ ok: true, data: [] });
  });

  it("runs one query for 100 values, and each lookup searches an index", async () => {
    const { org, client } = freshOrg();
    const dir = await folder(client, "Idx");
    await uploaded(client, "x.txt", undefined, `&folder_id=${dir.id}`);
    const values = [dir.id, ...Array.from({ length: 99 }, () => crypto.randomUUID())];
    const expected: Record<string, RegExp> = {
      "files.folder_id": /SEARCH files USING (COVERING )?INDEX files_org_folder_created \(organization_id=\? AND folder_id=\?\)/,
      "folders.parent_id": /SEARCH folders USING (COVERING )?INDEX folders_org_parent_created \(organization_id=\? AND parent_id=\?\)/,
    };
    for (const [name, model] of Object.entries(models)) {
      for (const [field, loader] of Object.entries(model.findBy ?? {})) {
        const recorded = recordingD1(DB);
        const rows = await loader({ ...testEnv, DB: recorded.db }, org, values, 3);
        if (name === "files") expect(rows.length).toBe(1);
        expect(recorded.statements.length, `${name}.${field}`).toBe(1);
        const plan = (await queryPlan(DB, recorded.statements[0]!)).join(" | ");
        expect(plan, `${name}.${field}`).toMatch(expected[`${name}.${field}`]!);
        expect(plan, `${name}.${field}`).not.toMatch(new RegExp(`SCAN ${name}\\b`));
      }
    }
  });

  it("refuses an unknown model (404), a field that is not a lookup or bad arguments (422), no context (401)", async () => {
    expect(await rpc.findBy("contacts", "company_id", [], 1, identity())).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await rpc.findBy("files", "name", ["a"], 1, identity())).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBy("files", "folder_id", ["x"], 1, identity())).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBy("files", "folder_id", [], 100, identity())).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBy("files", "folder_id", [], 1, {})).toMatchObject({ ok: false, error: { status: 401 } });
  });
});

describe("search", () => {
  it("finds files and folders by name (word prefixes), best first, within the organization", async () => {
    const { org, client } = freshOrg();
    const word = `Zanzibar${crypto.randomUUID().slice(0, 6)}`;
    const dir = await folder(client, word);
    const file = await uploaded(client, `${word} minutes.txt`);
    const other = await uploaded(client, `notes about ${word.toLowerCase()}.md`);
    await uploaded(client, "unrelated.txt");

    const res = await rpc.search(word.slice(0, 10), [], 10, identity(org));
    expect(res.ok).toBe(true);
    const hits = (res as { data: any[] }).data;
    expect(hits.map((h) => [h.id, h.model, h.type])).toEqual([
      [dir.id, "folders", "folder"],
      [file.id, "files", "file"],
      [other.id, "files", "file"],
    ]);
    expect(hits[0]).toEqual({ id: dir.id, model: "folders", type: "folder", name: word, description: null, score: 0.9 });
    expect(hits[1]).toMatchObject({ name: `${word} minutes.txt`, description: "application/octet-stream, 100 bytes" });

    const filesOnly = await rpc.search(word, ["files"], 1, identity(org));
    expect(filesOnly.ok && filesOnly.data.map((h: any) => h.model)).toEqual(["files"]);
    expect(await rpc.search(word, [], 10, identity(ORG_B))).toEqual({ ok: true, data: [] });

    // Renamed and deleted files follow.
    expect((await client.patch(`/files/${file.id}`, { name: "renamed.txt" })).status).toBe(200);
    expect((await client.delete(`/files/${other.id}`)).status).toBe(204);
    const after = await rpc.search(word, [], 10, identity(org));
    expect(after.ok && after.data.map((h: any) => h.id)).toEqual([dir.id]);
  });

  it("reads one query per model, through the FTS index and the primary key", async () => {
    const { org, client } = freshOrg();
    await uploaded(client, "plan.txt");
    for (const [name, key] of [
      ["files", "files"],
      ["folders", "folders"],
    ] as const) {
      const recorded = recordingD1(DB);
      await models[name]!.search!({ ...testEnv, DB: recorded.db }, org, "plan", 10);
      expect(recorded.statements.length, name).toBe(1);
      const plan = (await queryPlan(DB, recorded.statements[0]!)).join(" | ");
      expect(plan, name).toMatch(new RegExp(`SCAN ${key}_fts VIRTUAL TABLE`));
      expect(plan, name).toMatch(new RegExp(`SEARCH f USING INDEX sqlite_autoindex_${key}_1 \\(id=\\?\\)`));
    }
  });

  it("treats FTS5 syntax as plain words and refuses bad arguments", async () => {
    const { org } = freshOrg();
    for (const q of ['"', "NEAR(a b)", "file_id : x", "* OR *"]) expect((await rpc.search(q, [], 5, identity(org))).ok, q).toBe(true);
    expect(await rpc.search("x", ["versions"], 5, identity(org))).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await rpc.search("", [], 5, identity(org))).toMatchObject({ ok: false, error: { status: 422 } });
  });
});
