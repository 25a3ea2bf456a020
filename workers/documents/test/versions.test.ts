import { describe, expect, it } from "vitest";
import { ORG_B } from "@buildly/shared/test";
import {
  MAX,
  count,
  formBody,
  freshOrg,
  identity,
  listAll,
  objectsWith,
  postForm,
  putContent,
  randomBytes,
  rpc,
  serviceClient,
  sha256Hex,
  streamOf,
  text,
  uploaded,
} from "./helpers";

describe("versions", () => {
  it("stores a new version with PUT, keeps the old one, and lists them oldest first", async () => {
    const { org, client } = freshOrg();
    const v1 = randomBytes(1000);
    const file = await uploaded(client, "plan.txt", v1, "&tags=plan");
    const v2 = randomBytes(2000);
    const req = new Request(`https://service.internal/files/${file.id}/content`, {
      method: "PUT",
      body: v2,
      headers: { "content-length": "2000", "content-type": "application/pdf" },
    });
    const res = await rpc.handle(req, identity(org, { user_id: "editor-7" }));
    expect(res.status).toBe(200);
    const updated = await res.json<any>();
    expect(updated).toMatchObject({
      id: file.id,
      name: "plan.txt",
      tags: ["plan"],
      version: 2,
      size: 2000,
      sha256: await sha256Hex(v2),
      content_type: "application/pdf",
      created_by: file.created_by,
      created_at: file.created_at,
    });
    expect(updated.updated_at >= file.updated_at).toBe(true);
    expect(await (await client.get(`/files/${file.id}`)).json()).toEqual(updated);

    const versions = await (await client.get(`/files/${file.id}/versions`)).json<any>();
    expect(versions.next_cursor).toBeNull();
    expect(versions.data).toEqual([
      { version: 1, size: 1000, sha256: file.sha256, content_type: "application/octet-stream", created_by: file.created_by, created_at: file.created_at },
      { version: 2, size: 2000, sha256: updated.sha256, content_type: "application/pdf", created_by: "editor-7", created_at: updated.updated_at },
    ]);
    expect(await objectsWith(file.id)).toHaveLength(2);

    for (const [n, bytes, type] of [
      [1, v1, "application/octet-stream"],
      [2, v2, "application/pdf"],
    ] as const) {
      const body = await client.get(`/files/${file.id}/versions/${n}/content`);
      expect(body.status).toBe(200);
      expect(body.headers.get("content-type")).toBe(type);
      expect(body.headers.get("etag")).toBe(`"${await sha256Hex(bytes)}"`);
      expect(body.headers.get("content-disposition")).toBe(`attachment; filename="plan.txt"; filename*=UTF-8''plan.txt`);
      expect(new Uint8Array(await body.arrayBuffer())).toEqual(bytes);
    }
    // Conditional and range requests work on any version.
    expect((await client.get(`/files/${file.id}/versions/1/content`, { "if-none-match": `"${file.sha256}"` })).status).toBe(304);
    const part = await client.get(`/files/${file.id}/versions/1/content`, { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(v1.slice(10, 20));
  });

  it("takes a new version as a form, or as a body of unknown length", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "a.bin");
    const bytes = randomBytes(70_000);
    const B = "version-boundary";
    const res = await postForm(
      client,
      `/files/${file.id}/content`,
      B,
      formBody(B, [{ name: "file", filename: "ignored.bin", contentType: "image/png", body: bytes }]),
      [999],
      "PUT",
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "a.bin", version: 2, size: 70_000, content_type: "image/png", sha256: await sha256Hex(bytes) });
    const streamed = await client.raw("PUT", `/files/${file.id}/content`, { body: streamOf(text("abc"), text("def")) });
    expect(await streamed.json()).toMatchObject({ version: 3, size: 6 });
    // A version form carries only the file.
    const extra = await postForm(
      client,
      `/files/${file.id}/content`,
      B,
      formBody(B, [
        { name: "file", filename: "x", body: "x" },
        { name: "name", body: "y" },
      ]),
      undefined,
      "PUT",
    );
    expect(extra.status).toBe(422);
    expect((await extra.json<any>()).errors[0].path).toBe("form.name");
  });

  it("gives concurrent PUTs distinct versions, each with its own object", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "busy.txt", text("v1"));
    const bodies = [randomBytes(3000), randomBytes(3001), randomBytes(3002), randomBytes(3003)];
    const results = await Promise.all(bodies.map((b) => putContent(client, file.id, b)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const versions = await listAll(client, `/files/${file.id}/versions`);
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(versions.map((v) => v.sha256)).size).toBe(5);
    for (const v of versions.slice(1)) {
      const bytes = new Uint8Array(await (await client.get(`/files/${file.id}/versions/${v.version}/content`)).arrayBuffer());
      expect(await sha256Hex(bytes)).toBe(v.sha256);
    }
    const current = await (await client.get(`/files/${file.id}`)).json<any>();
    expect(current.version).toBe(5);
    expect(current.sha256).toBe(versions[4].sha256);
    expect(await objectsWith(file.id)).toHaveLength(5);
  });

  it("pages through versions with a cursor bound to its file", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "many.txt", text("1"));
    for (let i = 2; i <= 5; i++) expect((await putContent(client, file.id, text(String(i)))).status).toBe(200);
    const first = await (await client.get(`/files/${file.id}/versions?limit=2`)).json<any>();
    expect(first.data.map((v: any) => v.version)).toEqual([1, 2]);
    const second = await (await client.get(`/files/${file.id}/versions?limit=2&cursor=${first.next_cursor}`)).json<any>();
    expect(second.data.map((v: any) => v.version)).toEqual([3, 4]);
    const third = await (await client.get(`/files/${file.id}/versions?limit=2&cursor=${second.next_cursor}`)).json<any>();
    expect(third).toMatchObject({ data: [{ version: 5 }], next_cursor: null });

    const other = await uploaded(client, "other.txt");
    expect((await client.get(`/files/${other.id}/versions?cursor=${first.next_cursor}`)).status).toBe(422);
    expect((await client.get(`/files/${file.id}/versions?cursor=garbage`)).status).toBe(422);
  });

  it("answers 404 for unknown files and versions, 422 for bad version numbers", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "one.txt");
    const missing = await client.get(`/files/${file.id}/versions/2/content`);
    expect(missing.status).toBe(404);
    expect((await missing.json<any>()).detail).toBe("The file has no version 2.");
    const unknown = await client.get(`/files/${crypto.randomUUID()}/versions/1/content`);
    expect((await unknown.json<any>()).detail).toBe("No file has this id.");
    expect((await client.get(`/files/${crypto.randomUUID()}/versions`)).status).toBe(404);
    expect((await putContent(client, crypto.randomUUID(), text("x"))).status).toBe(404);
    for (const v of ["0", "-1", "1.5", "abc"]) expect((await client.get(`/files/${file.id}/versions/${v}/content`)).status, v).toBe(422);
  });

  it("refuses a new version over MAX_UPLOAD_BYTES (413) and keeps the file as it was", async () => {
    const { org, client } = freshOrg();
    const file = await uploaded(client, "stay.txt");
    const tooBig = await client.raw("PUT", `/files/${file.id}/content`, { body: streamOf(randomBytes(MAX), randomBytes(1)) });
    expect(tooBig.status).toBe(413);
    expect(await (await client.get(`/files/${file.id}`)).json()).toEqual(file);
    expect(await objectsWith(file.id)).toHaveLength(1);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
  });

  it("keeps another organization away from versions", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "mine.txt");
    const other = serviceClient(rpc, ORG_B);
    expect((await other.get(`/files/${file.id}/versions`)).status).toBe(404);
    expect((await other.get(`/files/${file.id}/versions/1/content`)).status).toBe(404);
    expect((await putContent(other, file.id, text("hijack"))).status).toBe(404);
    expect((await client.get(`/files/${file.id}`)).status).toBe(200);
    expect((await listAll(client, `/files/${file.id}/versions`)).map((v) => v.version)).toEqual([1]);
  });
});
