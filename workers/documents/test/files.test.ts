import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORG_A, ORG_B } from "@buildly/shared/test";
import {
  DB,
  MAX,
  bucket,
  count,
  folder,
  freshOrg,
  identity,
  listAll,
  objectsWith,
  randomBytes,
  row,
  rpc,
  serviceClient,
  sha256Hex,
  streamOf,
  testEnv,
  text,
  upload,
  uploaded,
} from "./helpers";

const a = serviceClient(rpc, ORG_A);
const b = serviceClient(rpc, ORG_B);

describe("raw uploads", () => {
  it("streams an upload into R2 and reports its real size and SHA-256", async () => {
    const bytes = randomBytes(40_000);
    const expectedSha = await sha256Hex(bytes);
    const res = await upload(a, "contract.pdf", bytes, { "content-type": "application/pdf" });
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body).toMatchObject({
      name: "contract.pdf",
      folder_id: null,
      content_type: "application/pdf",
      size: 40_000,
      sha256: expectedSha,
      version: 1,
      tags: [],
    });
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.updated_at).toBe(body.created_at);
    expect(res.headers.get("location")).toBe(`/files/${body.id}`);
    // Storage details stay inside the service.
    for (const hidden of ["organization_id", "object_key", "status"]) expect(body).not.toHaveProperty(hidden);

    const objects = await objectsWith(body.id);
    expect(objects).toHaveLength(1);
    const stored = await bucket.get(objects[0]!.key);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes);
    expect(stored!.httpMetadata?.contentType).toBe("application/pdf");
    // The first version is recorded, and the upload journal entry is closed.
    expect(await count("SELECT count(*) AS n FROM file_versions WHERE file_id = ? AND version = 1 AND sha256 = ?", body.id, expectedSha)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE file_id = ?", body.id)).toBe(0);
  });

  it("records who uploaded, and defaults the media type to application/octet-stream", async () => {
    const ctx = identity(ORG_A, { user_id: "user-uploader-1" });
    const req = new Request("https://service.internal/files?name=blob.bin", {
      method: "POST",
      body: randomBytes(10),
      headers: { "content-length": "10" },
    });
    const res = await rpc.handle(req, ctx);
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body.created_by).toBe("user-uploader-1");
    expect(body.content_type).toBe("application/octet-stream");
  });

  it("takes ?folder_id= and ?tags=a,b (trimmed, deduplicated)", async () => {
    const { client } = freshOrg();
    const dir = await folder(client, "Contracts");
    const file = await uploaded(client, "sow.txt", text("hello"), `&folder_id=${dir.id}&tags=${encodeURIComponent(" contract , contact:x,contract")}`);
    expect(file).toMatchObject({ folder_id: dir.id, tags: ["contract", "contact:x"] });
    expect(await count("SELECT count(*) AS n FROM file_tags WHERE file_id = ?", file.id)).toBe(2);
  });

  it("stores an empty file with the SHA-256 of nothing", async () => {
    const res = await upload(a, "empty.txt", new Uint8Array(0));
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body.size).toBe(0);
    expect(body.sha256).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const content = await a.get(`/files/${body.id}/content`);
    expect(content.status).toBe(200);
    expect((await content.arrayBuffer()).byteLength).toBe(0);
  });

  it("accepts a body of unknown length (no Content-Length) and measures it", async () => {
    const { client } = freshOrg();
    const parts = [randomBytes(10), randomBytes(70_000), randomBytes(3)];
    const all = new Uint8Array([...parts[0]!, ...parts[1]!, ...parts[2]!]);
    const res = await upload(client, "stream.bin", streamOf(...parts));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ size: all.byteLength, sha256: await sha256Hex(all) });
  });

  it("refuses a declared length above MAX_UPLOAD_BYTES with 413 and stores nothing", async () => {
    expect(testEnv.MAX_UPLOAD_BYTES).toBe(String(MAX));
    const { org, client } = freshOrg();
    const over = await client.raw("POST", "/files?name=big.bin", { body: streamOf(randomBytes(10)), headers: { "content-length": String(MAX + 1) } });
    expect(over.status).toBe(413);
    expect(over.headers.get("content-type")).toBe("application/problem+json");
    expect(await over.json()).toMatchObject({ status: 413, max_bytes: MAX });
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);

    // The limit itself is allowed.
    const bytes = randomBytes(MAX);
    const exact = await upload(client, "max.bin", bytes);
    expect(exact.status).toBe(201);
    expect(await exact.json()).toMatchObject({ size: MAX, sha256: await sha256Hex(bytes) });
  });

  it("refuses a body of unknown length once it passes MAX_UPLOAD_BYTES (413), keeping nothing", async () => {
    const { org, client } = freshOrg();
    const res = await upload(client, "big.bin", streamOf(randomBytes(MAX), randomBytes(1)));
    expect(res.status).toBe(413);
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
  });

  it("answers 413 for a body longer than its declared Content-Length, and keeps no object", async () => {
    const { org, client } = freshOrg();
    const res = await upload(client, "liar.bin", streamOf(randomBytes(10), randomBytes(10)), { "content-length": "15" });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ status: 413, declared_bytes: 15 });
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await objectsWith(org)).toEqual([]);
  });

  it("rejects a body shorter than its declared Content-Length (400) and keeps no object", async () => {
    const { org, client } = freshOrg();
    const res = await upload(client, "short.bin", streamOf(randomBytes(10)), { "content-length": "20" });
    expect(res.status).toBe(400);
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
  });

  it("rejects names with path separators or control characters (422)", async () => {
    // The query is checked before the body is read, so these carry none.
    for (const name of ["a/b.txt", "..\\evil.txt", "bad\u0000name", "line\nbreak.txt", "tab\there", "del\u007f", ".", "..", ""]) {
      const res = await a.raw("POST", `/files?name=${encodeURIComponent(name)}`);
      expect(res.status, JSON.stringify(name)).toBe(422);
      const problem = await res.json<any>();
      expect(problem.errors.map((e: any) => e.path)).toEqual(["query.name"]);
    }
    const missing = await a.raw("POST", "/files", { body: text("x"), headers: { "content-length": "1" } });
    expect(missing.status).toBe(422);
    expect((await missing.json<any>()).errors[0].path).toBe("query.name");
    expect((await a.raw("POST", `/files?name=${"x".repeat(256)}`)).status).toBe(422);
    expect((await upload(a, "x".repeat(255), randomBytes(4))).status).toBe(201);
  });

  it("rejects bad tags and a bad or foreign folder_id (422) before storing anything", async () => {
    const { org, client } = freshOrg();
    const foreign = await folder(b, `b-only-${crypto.randomUUID()}`);
    const cases: [string, string][] = [
      [`&tags=${encodeURIComponent("bad\u0001tag")}`, "query.tags.0"],
      [`&tags=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(",")}`, "query.tags"],
      ["&folder_id=not-a-uuid", "query.folder_id"],
      [`&folder_id=${crypto.randomUUID()}`, "query.folder_id"],
      [`&folder_id=${foreign.id}`, "query.folder_id"],
    ];
    for (const [query, path] of cases) {
      const res = await upload(client, "x.txt", text("x"), {}, query);
      expect(res.status, query).toBe(422);
      const problem = await res.json<any>();
      expect(
        problem.errors.map((e: any) => e.path),
        query,
      ).toEqual([path]);
    }
    const res = await upload(client, "x.txt", text("x"), {}, `&folder_id=${foreign.id}`);
    expect((await res.json<any>()).errors[0].message).toMatch(/does not exist/);
    expect(await objectsWith(org)).toEqual([]);
  });
});

describe("metadata", () => {
  it("reads a file's metadata", async () => {
    const res = await upload(a, "readme.md", text("# Hello\n"), { "content-type": "text/markdown" });
    const created = await res.json<any>();
    const read = await a.get(`/files/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await read.json()).toEqual(created);
    expect(created).toMatchObject({ size: 8, content_type: "text/markdown" });
  });

  it("renames, moves and re-tags a file with PATCH", async () => {
    const { client } = freshOrg();
    const dir = await folder(client, "Archive");
    const file = await uploaded(client, "draft.txt", text("draft"), "&tags=draft");
    const res = await client.patch(`/files/${file.id}`, { name: "final.txt", folder_id: dir.id, tags: ["final", "contact:1", "final"] });
    expect(res.status).toBe(200);
    const updated = await res.json<any>();
    expect(updated).toMatchObject({ id: file.id, name: "final.txt", folder_id: dir.id, tags: ["final", "contact:1"], version: 1, sha256: file.sha256 });
    expect(updated.updated_at >= file.updated_at).toBe(true);
    expect(updated.created_at).toBe(file.created_at);
    expect(await (await client.get(`/files/${file.id}`)).json()).toEqual(updated);
    // The tag index followed the change.
    expect(await listAll(client, "/files?tag=draft")).toEqual([]);
    expect((await listAll(client, "/files?tag=final")).map((f) => f.id)).toEqual([file.id]);

    // Back to the top level.
    const root = await client.patch(`/files/${file.id}`, { folder_id: null });
    expect(await root.json()).toMatchObject({ folder_id: null, name: "final.txt" });
  });

  it("refuses a bad PATCH: unknown fields, empty body, bad names, foreign folders", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "keep.txt");
    const foreign = await folder(b, `b-folder-${crypto.randomUUID()}`);
    const cases: [unknown, string][] = [
      [{}, ""],
      [{ size: 3 }, ""],
      [{ name: "a/b" }, "name"],
      [{ name: "" }, "name"],
      [{ tags: ["ok", "no,commas"] }, "tags.1"],
      [{ folder_id: "nope" }, "folder_id"],
      [{ folder_id: crypto.randomUUID() }, "folder_id"],
      [{ folder_id: foreign.id }, "folder_id"],
    ];
    for (const [body, path] of cases) {
      const res = await client.patch(`/files/${file.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      if (path)
        expect(
          (await res.json<any>()).errors.map((e: any) => e.path),
          JSON.stringify(body),
        ).toContain(path);
    }
    const malformed = await client.raw("PATCH", `/files/${file.id}`, { body: "{", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    const wrongType = await client.raw("PATCH", `/files/${file.id}`, { body: "name=x", headers: { "content-type": "text/plain" } });
    expect(wrongType.status).toBe(415);
    expect((await client.patch(`/files/${crypto.randomUUID()}`, { name: "x.txt" })).status).toBe(404);
    expect(await (await client.get(`/files/${file.id}`)).json()).toEqual(file);
  });
});

describe("listing", () => {
  it("pages through the list with an opaque cursor, oldest first", async () => {
    const { client: c } = freshOrg();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await uploaded(c, `file-${i}.txt`)).id);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await c.get(`/files?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      const page: any = await res.json();
      pageSizes.push(page.data.length);
      seen.push(...page.data.map((f: any) => f.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(ids);

    const all = await (await c.get("/files")).json<any>();
    expect(all.data.map((f: any) => f.name)).toEqual(["file-0.txt", "file-1.txt", "file-2.txt", "file-3.txt", "file-4.txt"]);
    expect(all.next_cursor).toBeNull();
    // Exactly a full page: no further page is promised.
    expect((await (await c.get("/files?limit=5")).json<any>()).next_cursor).toBeNull();
    expect((await c.get("/files?cursor=garbage")).status).toBe(422);
    expect((await c.get("/files?limit=0")).status).toBe(422);
    expect((await c.get("/files?limit=101")).status).toBe(422);
  });

  it("filters by folder (an id, or root), by tag and by name prefix, and combines them", async () => {
    const { client } = freshOrg();
    const dir = await folder(client, "Clients");
    const sub = await folder(client, "Ada", dir.id);
    const rootFile = await uploaded(client, "Statement of work.txt", text("1"), "&tags=contract");
    const inDir = await uploaded(client, "statement-2026.txt", text("2"), `&folder_id=${dir.id}&tags=contract,contact:ada`);
    const inSub = await uploaded(client, "notes.md", text("3"), `&folder_id=${sub.id}&tags=contact:ada`);
    const odd = await uploaded(client, "100%_done.txt", text("4"));

    const ids = async (q: string) => (await listAll(client, `/files${q}`)).map((f) => f.id);
    expect(await ids("")).toEqual([rootFile.id, inDir.id, inSub.id, odd.id]);
    expect(await ids("?folder_id=root")).toEqual([rootFile.id, odd.id]);
    expect(await ids(`?folder_id=${dir.id}`)).toEqual([inDir.id]);
    expect(await ids(`?folder_id=${sub.id}`)).toEqual([inSub.id]);
    expect(await ids(`?folder_id=${crypto.randomUUID()}`)).toEqual([]);
    expect(await ids("?tag=contract")).toEqual([rootFile.id, inDir.id]);
    expect(await ids(`?tag=${encodeURIComponent("contact:ada")}`)).toEqual([inDir.id, inSub.id]);
    expect(await ids("?tag=nothing")).toEqual([]);
    // name: a prefix, ASCII case-insensitive; not a substring.
    expect(await ids("?name=statement")).toEqual([rootFile.id, inDir.id]);
    expect(await ids("?name=STATEMENT-")).toEqual([inDir.id]);
    expect(await ids("?name=work")).toEqual([]);
    // LIKE wildcards in the prefix are literal.
    expect(await ids(`?name=${encodeURIComponent("100%_")}`)).toEqual([odd.id]);
    expect(await ids(`?name=${encodeURIComponent("%")}`)).toEqual([]);
    expect(await ids(`?name=${encodeURIComponent("1_0")}`)).toEqual([]);
    // Combined.
    expect(await ids(`?tag=contract&folder_id=root`)).toEqual([rootFile.id]);
    expect(await ids(`?tag=${encodeURIComponent("contact:ada")}&name=notes&folder_id=${sub.id}`)).toEqual([inSub.id]);
    // Paging within a filter.
    const page = await (await client.get("/files?tag=contract&limit=1")).json<any>();
    expect(page.data.map((f: any) => f.id)).toEqual([rootFile.id]);
    const next = await (await client.get(`/files?tag=contract&limit=1&cursor=${page.next_cursor}`)).json<any>();
    expect(next).toEqual({ data: [expect.objectContaining({ id: inDir.id })], next_cursor: null });

    expect((await client.get("/files?folder_id=nope")).status).toBe(422);
  });

  it("uses indexes for its filters", async () => {
    const plan = async (sql: string) =>
      (await DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(ORG_A, "x").all<{ detail: string }>()).results.map((r) => r.detail).join(" | ");
    expect(await plan("SELECT * FROM file_tags WHERE organization_id = ?1 AND tag = ?2")).toMatch(/USING (COVERING )?INDEX file_tags_org_tag/);
    expect(await plan("SELECT * FROM files WHERE organization_id = ?1 AND folder_id = ?2 ORDER BY created_at, id")).toMatch(/INDEX files_org_folder_created/);
    expect(await plan("SELECT * FROM files WHERE organization_id = ?1 AND ?2 = ?2 ORDER BY created_at, id")).toMatch(/INDEX files_org_created/);
  });
});

describe("deleting", () => {
  it("deletes the row, every version and every R2 object", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "to-delete.txt");
    const second = await client.raw("PUT", `/files/${file.id}/content`, { body: text("v2"), headers: { "content-length": "2" } });
    expect(second.status).toBe(200);
    expect(await objectsWith(file.id)).toHaveLength(2);

    const res = await client.delete(`/files/${file.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    expect((await client.get(`/files/${file.id}`)).status).toBe(404);
    expect((await client.get(`/files/${file.id}/content`)).status).toBe(404);
    expect((await client.get(`/files/${file.id}/versions`)).status).toBe(404);
    expect((await client.delete(`/files/${file.id}`)).status).toBe(404);
    expect(await objectsWith(file.id)).toEqual([]);
    expect(await row("SELECT id FROM files WHERE id = ?", file.id)).toBeNull();
    expect(await count("SELECT count(*) AS n FROM file_versions WHERE file_id = ?", file.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM file_tags WHERE file_id = ?", file.id)).toBe(0);
  });
});

describe("organizations", () => {
  it("hides one organization's files from another: read, content, versions, update, new version, delete, list", async () => {
    const file = await uploaded(a, "secret.txt", randomBytes(100), "&tags=secret");
    for (const res of [
      await b.get(`/files/${file.id}`),
      await b.get(`/files/${file.id}/content`),
      await b.get(`/files/${file.id}/versions`),
      await b.get(`/files/${file.id}/versions/1/content`),
      await b.patch(`/files/${file.id}`, { name: "mine.txt" }),
      await b.raw("PUT", `/files/${file.id}/content`, { body: text("overwrite"), headers: { "content-length": "9" } }),
      await b.delete(`/files/${file.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, detail: "No file has this id." });
    }
    const seenByB = await listAll(b, "/files?tag=secret");
    expect(seenByB.map((f) => f.id)).not.toContain(file.id);
    expect((await listAll(b, "/files")).map((f) => f.id)).not.toContain(file.id);
    // B's attempts left A's file whole.
    expect(await (await a.get(`/files/${file.id}`)).json()).toEqual(file);
    expect(await objectsWith(file.id)).toHaveLength(1);
  });
});

describe("the service", () => {
  it("answers unknown ids, bad ids and unknown routes with problem+json", async () => {
    expect((await a.get(`/files/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await a.get("/files/not-a-uuid")).status).toBe(422);
    const wrongMethod = await a.raw("PUT", "/files");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, POST");
    const contentMethod = await a.raw("POST", `/files/${crypto.randomUUID()}/content`);
    expect(contentMethod.status).toBe(405);
    expect(contentMethod.headers.get("allow")).toBe("GET, HEAD, PUT");
    const nowhere = await a.get("/nowhere");
    expect(nowhere.status).toBe(404);
    expect(nowhere.headers.get("content-type")).toBe("application/problem+json");
  });

  it("refuses calls without a valid identity context, and any direct HTTP call", async () => {
    const noCtx = await rpc.handle(new Request("https://service.internal/files"), { request_id: "x" });
    expect(noCtx.status).toBe(401);
    expect(noCtx.headers.get("content-type")).toBe("application/problem+json");
    const noOrg = await rpc.handle(new Request("https://service.internal/files"), identity(""));
    expect(noOrg.status).toBe(401);

    const direct = await (exports as any).default.fetch("https://documents.example/files");
    expect(direct.status).toBe(401);
    expect(direct.headers.get("content-type")).toBe("application/problem+json");
    const directUpload = await (exports as any).default.fetch("https://documents.example/files?name=x.txt", {
      method: "POST",
      body: "hello",
    });
    expect(directUpload.status).toBe(401);
  });

  it("reports health from a real D1 query and serves its OpenAPI 3.1", async () => {
    expect(await rpc.health()).toEqual({ service: "documents", status: "ok", checks: { d1: "ok" } });
    const res = await rpc.handle(new Request("https://service.internal/openapi.json"), identity());
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Buildly Documents");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/files",
      "/files/{id}",
      "/files/{id}/content",
      "/files/{id}/versions",
      "/files/{id}/versions/{version}/content",
      "/folders",
      "/folders/{id}",
    ]);
    expect(Object.keys(doc.paths["/files"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/files/{id}"]).sort()).toEqual(["delete", "get", "patch"]);
    expect(Object.keys(doc.paths["/files/{id}/content"]).sort()).toEqual(["get", "put"]);
    expect(Object.keys(doc.paths["/folders/{id}"]).sort()).toEqual(["delete", "get", "patch"]);
    // Uploads are documented as both a form and a raw body.
    expect(Object.keys(doc.paths["/files"].post.requestBody.content).sort()).toEqual(["application/octet-stream", "multipart/form-data"]);
    const ops = Object.values(doc.paths).flatMap((p: any) => Object.values(p).map((o: any) => o.operationId));
    expect(new Set(ops).size).toBe(ops.length);
    expect(ops.every((o) => typeof o === "string")).toBe(true);
    for (const name of ["File", "FileList", "FileUpdate", "FileVersion", "FileVersionList", "Folder", "FolderList", "FolderCreate", "FolderUpdate"]) {
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
    // Every JSON request body has an example.
    for (const name of ["FileUpdate", "FolderCreate", "FolderUpdate"]) expect(doc.components.schemas[name].example, name).toBeDefined();
  });
});
