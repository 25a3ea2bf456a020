import { describe, expect, it } from "vitest";
import { DB, bucket, count, listAll, rpc, serviceClient, sha256Hex, testEnv } from "./helpers";
import bodies from "../seed/bodies.json";

const DEMO_ORG = "00000000-0000-4000-8000-000000000001";
const CONTACTS = {
  ada: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
  grace: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02",
  katherine: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03",
  alan: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04",
};
// The seed folder's files, as text (they are all UTF-8 text).
const seedFiles = import.meta.glob<string>("../seed/*.{txt,md,csv}", { query: "?raw", import: "default", eager: true });

async function runSeed() {
  for (const file of testEnv.TEST_SEED) await DB.batch(file.queries.map((q) => DB.prepare(q)));
}

/** Puts every body the seed names into the test bucket, as scripts/migrate.sh does locally. */
async function putBodies() {
  for (const { key, file } of bodies) {
    const content = seedFiles[`../seed/${file.split("/").pop()}`];
    expect(content, file).toBeDefined();
    await bucket.put(key, content!);
  }
}

describe("the demo seed", () => {
  it("is idempotent, and gives the demo organization a folder tree and files tagged with their contacts", async () => {
    expect(testEnv.TEST_SEED.map((f) => f.name)).toEqual(["demo.sql"]);
    await runSeed();
    const counts = async () => [
      await count("SELECT count(*) AS n FROM folders WHERE organization_id = ?", DEMO_ORG),
      await count("SELECT count(*) AS n FROM files WHERE organization_id = ?", DEMO_ORG),
      await count("SELECT count(*) AS n FROM file_versions WHERE organization_id = ?", DEMO_ORG),
      await count("SELECT count(*) AS n FROM file_tags WHERE organization_id = ?", DEMO_ORG),
    ];
    const first = await counts();
    expect(first).toEqual([7, 6, 7, 11]);
    await runSeed();
    expect(await counts()).toEqual(first);

    const demo = serviceClient(rpc, DEMO_ORG);
    const top = await listAll(demo, "/folders?parent_id=root");
    expect(top.map((f) => f.name)).toEqual(["Clients", "Internal"]);
    const clients = await listAll(demo, `/folders?parent_id=${top[0].id}`);
    expect(clients.map((f) => f.name)).toEqual(["Analytical Engines Ltd", "Compiler Works Inc", "Orbital Mechanics Co"]);

    const byContact = async (id: string) => (await listAll(demo, `/files?tag=${encodeURIComponent(`contact:${id}`)}`)).map((f) => f.name);
    expect(await byContact(CONTACTS.ada)).toEqual(["statement-of-work.txt", "Meeting notes – Ada Lovelace.md"]);
    expect(await byContact(CONTACTS.grace)).toEqual(["compiler-proposal.md"]);
    expect(await byContact(CONTACTS.katherine)).toEqual(["trajectory-data.csv"]);
    expect(await byContact(CONTACTS.alan)).toEqual(["nda-alan-turing.txt"]);
  });

  it("names only bodies that exist in seed/, with the sizes and SHA-256 the rows claim", async () => {
    await runSeed();
    await putBodies();
    const { results: versions } = await DB.prepare("SELECT file_id, version, object_key, size, sha256 FROM file_versions WHERE organization_id = ?")
      .bind(DEMO_ORG)
      .all<{ file_id: string; version: number; object_key: string; size: number; sha256: string }>();
    // Every stored version has exactly one body listed for migrate.sh, and nothing else is listed.
    expect(versions.map((v) => v.object_key).sort()).toEqual(bodies.map((b) => b.key).sort());
    const demo = serviceClient(rpc, DEMO_ORG);
    for (const v of versions) {
      const res = await demo.get(`/files/${v.file_id}/versions/${v.version}/content`);
      expect(res.status, v.object_key).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(bytes.byteLength, v.object_key).toBe(v.size);
      expect(await sha256Hex(bytes), v.object_key).toBe(v.sha256);
    }
    // Each file's row agrees with its newest version.
    expect(
      await count(
        `SELECT count(*) AS n FROM files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.version
         WHERE f.organization_id = ? AND v.object_key = f.object_key AND v.sha256 = f.sha256 AND v.size = f.size`,
        DEMO_ORG,
      ),
    ).toBe(6);
  });
});

describe("migrations", () => {
  const mdb = () => testEnv.MIGRATION_DB;
  const apply = async (name: string) => {
    const migration = testEnv.TEST_MIGRATIONS.find((m) => m.name === name)!;
    await mdb().batch(migration.queries.map((q) => mdb().prepare(q)));
  };

  it("0002 carries files of 0001 over: a first version, tag index, top level, active", async () => {
    expect(testEnv.TEST_MIGRATIONS.map((m) => m.name)).toEqual(["0001_files.sql", "0002_folders_versions_tags.sql", "0003_search.sql", "0004_events.sql"]);
    await apply("0001_files.sql");
    await mdb()
      .prepare(
        `INSERT INTO files (id, organization_id, name, content_type, size, sha256, version, tags, object_key, created_by, created_at, updated_at)
         VALUES ('f1', 'org', 'old.txt', 'text/plain', 5, 'abc', 1, '["x","y"]', 'org/f1/v1', 'u1', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z')`,
      )
      .run();
    await apply("0002_folders_versions_tags.sql");
    expect(await mdb().prepare("SELECT folder_id, status, tags, object_key FROM files WHERE id = 'f1'").first()).toEqual({
      folder_id: null,
      status: "active",
      tags: '["x","y"]',
      object_key: "org/f1/v1",
    });
    expect(
      await mdb()
        .prepare("SELECT version, size, sha256, object_key, created_by FROM file_versions WHERE file_id = 'f1'")
        .all()
        .then((r) => r.results),
    ).toEqual([{ version: 1, size: 5, sha256: "abc", object_key: "org/f1/v1", created_by: "u1" }]);
    expect((await mdb().prepare("SELECT tag FROM file_tags WHERE file_id = 'f1' ORDER BY tag").all()).results).toEqual([{ tag: "x" }, { tag: "y" }]);

    // The tag triggers keep the index in step.
    await mdb().prepare(`UPDATE files SET tags = '["z"]' WHERE id = 'f1'`).run();
    expect((await mdb().prepare("SELECT tag FROM file_tags WHERE file_id = 'f1'").all()).results).toEqual([{ tag: "z" }]);
    // Foreign keys hold folders to their organization.
    await mdb().prepare(`INSERT INTO folders (id, organization_id, parent_id, name, created_at, updated_at) VALUES ('d1', 'org', NULL, 'D', 't', 't')`).run();
    await expect(mdb().prepare(`UPDATE files SET folder_id = 'd1' WHERE id = 'f1'`).run()).resolves.toBeTruthy();
    await expect(
      mdb().prepare(`INSERT INTO folders (id, organization_id, parent_id, name, created_at, updated_at) VALUES ('d2', 'other-org', 'd1', 'E', 't', 't')`).run(),
    ).rejects.toThrow(/FOREIGN KEY/);
    // Deleting the file takes its versions and tags along.
    await mdb().prepare("DELETE FROM files WHERE id = 'f1'").run();
    expect(await mdb().prepare("SELECT count(*) AS n FROM file_versions").first()).toEqual({ n: 0 });
    expect(await mdb().prepare("SELECT count(*) AS n FROM file_tags").first()).toEqual({ n: 0 });

    // 0003 indexes the names already there for search, and its triggers follow later writes.
    await mdb()
      .prepare(
        `INSERT INTO files (id, organization_id, name, content_type, size, sha256, version, tags, object_key, status, created_at, updated_at)
         VALUES ('f2', 'org', 'Quarterly report.pdf', 'application/pdf', 5, 'abc', 1, '[]', 'org/f2/v1', 'active', 't', 't')`,
      )
      .run();
    await apply("0003_search.sql");
    const found = (table: string, column: string, q: string) =>
      mdb()
        .prepare(`SELECT ${column} AS id FROM ${table} WHERE ${table} MATCH ? ORDER BY ${column}`)
        .bind(q)
        .all()
        .then((r) => r.results.map((x: any) => x.id));
    expect(await found("files_fts", "file_id", 'name : "quarter"*')).toEqual(["f2"]);
    expect(await found("folders_fts", "folder_id", 'name : "d"')).toEqual(["d1"]);
    await mdb().prepare("UPDATE files SET name = 'Annual summary.pdf' WHERE id = 'f2'").run();
    expect(await found("files_fts", "file_id", 'name : "quarterly"')).toEqual([]);
    expect(await found("files_fts", "file_id", 'name : "annual"')).toEqual(["f2"]);
    await mdb().prepare("DELETE FROM files WHERE id = 'f2'").run();
    await mdb().prepare("DELETE FROM folders WHERE id = 'd1'").run();
    expect(await mdb().prepare("SELECT (SELECT count(*) FROM files_fts) AS f, (SELECT count(*) FROM folders_fts) AS d").first()).toEqual({ f: 0, d: 0 });
  });
});
