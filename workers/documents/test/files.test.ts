import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServiceHealth } from "@buildly/shared";
import { ORG_A, ORG_B, identity, serviceClient, type RpcService } from "@buildly/shared/test";

const rpc = (exports as unknown as { DocumentsService: RpcService & { health(): Promise<ServiceHealth> } }).DocumentsService;
const a = serviceClient(rpc, ORG_A);
const b = serviceClient(rpc, ORG_B);
const bucket = (env as unknown as { FILES: R2Bucket }).FILES;
// vitest.config.ts sets this binding; the tests below depend on it being small.
const MAX = 65536;

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  return out;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

type Client = ReturnType<typeof serviceClient>;

/**
 * workerd does not put Content-Length into a Request's Headers for a byte body (it only adds it
 * on the wire), and the header is what crosses RPC; so declare it as the gateway forwards it.
 */
function upload(client: Client, name: string, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
  const declared: Record<string, string> = body instanceof Uint8Array ? { "content-length": String(body.byteLength) } : {};
  return client.raw("POST", `/files?name=${encodeURIComponent(name)}`, { body, headers: { ...declared, ...headers } });
}

async function uploaded(client: Client, name = "notes.txt", bytes = randomBytes(100)) {
  const res = await upload(client, name, bytes);
  expect(res.status).toBe(201);
  return (await res.json<any>()) as { id: string; name: string; size: number; sha256: string };
}

/** The R2 objects that belong to one file, found by its id rather than by the key layout. */
async function objectsOf(fileId: string): Promise<R2Object[]> {
  const found: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ cursor });
    found.push(...page.objects.filter((o) => o.key.includes(fileId)));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return found;
}

/** A body whose length the Request cannot know, so no Content-Length is set for it. */
function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

describe("files", () => {
  it("streams an upload into R2 and reports its real size and SHA-256", async () => {
    const bytes = randomBytes(40_000);
    const expectedSha = await sha256Hex(bytes);
    const res = await upload(a, "contract.pdf", bytes, { "content-type": "application/pdf" });
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body).toMatchObject({ name: "contract.pdf", content_type: "application/pdf", size: 40_000, sha256: expectedSha, version: 1, tags: [] });
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.updated_at).toBe(body.created_at);
    expect(res.headers.get("location")).toBe(`/files/${body.id}`);
    // Storage details stay inside the service.
    expect(body).not.toHaveProperty("organization_id");
    expect(body).not.toHaveProperty("object_key");

    const objects = await objectsOf(body.id);
    expect(objects).toHaveLength(1);
    const stored = await bucket.get(objects[0]!.key);
    expect(stored).not.toBeNull();
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes);
    expect(stored!.httpMetadata?.contentType).toBe("application/pdf");
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

  it("reads a file's metadata", async () => {
    const res = await upload(a, "readme.md", new TextEncoder().encode("# Hello\n"), { "content-type": "text/markdown" });
    const created = await res.json<any>();
    const read = await a.get(`/files/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await read.json()).toEqual(created);
    expect(created).toMatchObject({ size: 8, content_type: "text/markdown" });
  });

  it("downloads the same bytes with an ETag, and answers If-None-Match with 304", async () => {
    const bytes = randomBytes(5000);
    const sha = await sha256Hex(bytes);
    const file = (await (await upload(a, "photo.jpg", bytes, { "content-type": "image/jpeg" })).json<any>()) as { id: string };

    const res = await a.get(`/files/${file.id}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(res.headers.get("content-length")).toBe("5000");
    expect(res.headers.get("etag")).toBe(`"${sha}"`);
    expect(res.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''photo.jpg");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);

    for (const tag of [`"${sha}"`, `W/"${sha}"`, `"other", "${sha}"`]) {
      const cached = await a.get(`/files/${file.id}/content`, { "if-none-match": tag });
      expect(cached.status, tag).toBe(304);
      expect(cached.headers.get("etag")).toBe(`"${sha}"`);
      expect(await cached.text()).toBe("");
    }
    const stale = await a.get(`/files/${file.id}/content`, { "if-none-match": `"${"0".repeat(64)}"` });
    expect(stale.status).toBe(200);
    expect(new Uint8Array(await stale.arrayBuffer())).toEqual(bytes);
  });

  it("names a non-ASCII file in Content-Disposition per RFC 8187", async () => {
    const name = "Résumé 2026 – 日本.pdf";
    const file = await uploaded(a, name);
    expect(file.name).toBe(name);
    expect((await (await a.get(`/files/${file.id}`)).json<any>()).name).toBe(name);

    const res = await a.get(`/files/${file.id}/content`);
    expect(res.status).toBe(200);
    const disposition = res.headers.get("content-disposition")!;
    expect(disposition).toBe(
      "attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%202026%20%E2%80%93%20%E6%97%A5%E6%9C%AC.pdf",
    );
    // ext-value = charset "'" [ language ] "'" value-chars, value-chars = *( pct-encoded / attr-char )
    const value = /filename\*=UTF-8''(.*)$/.exec(disposition)![1]!;
    expect(value).toMatch(/^(?:%[0-9A-F]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*$/);
    expect(decodeURIComponent(value)).toBe(name);
  });

  it("escapes the characters encodeURIComponent leaves alone (' ( ) *) in filename*", async () => {
    const name = "O'Brien (final)*.txt";
    const file = await uploaded(a, name);
    const disposition = (await a.get(`/files/${file.id}/content`)).headers.get("content-disposition");
    expect(disposition).toBe("attachment; filename*=UTF-8''O%27Brien%20%28final%29%2A.txt");
  });

  it("pages through the list with an opaque cursor, oldest first", async () => {
    const c = serviceClient(rpc, crypto.randomUUID());
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
  });

  it("deletes the row and the R2 object", async () => {
    const file = await uploaded(a, "to-delete.txt");
    expect(await objectsOf(file.id)).toHaveLength(1);

    const res = await a.delete(`/files/${file.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    expect((await a.get(`/files/${file.id}`)).status).toBe(404);
    expect((await a.get(`/files/${file.id}/content`)).status).toBe(404);
    expect((await a.delete(`/files/${file.id}`)).status).toBe(404);
    expect(await objectsOf(file.id)).toEqual([]);
    const row = await (env as unknown as { DB: D1Database }).DB.prepare("SELECT id FROM files WHERE id = ?").bind(file.id).first();
    expect(row).toBeNull();
  });

  it("requires Content-Length (411) for a streamed body of unknown length", async () => {
    const org = crypto.randomUUID();
    const c = serviceClient(rpc, org);
    const res = await upload(c, "stream.bin", streamOf(randomBytes(10), randomBytes(10)));
    expect(res.status).toBe(411);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 411, title: "Length Required" });
    expect((await (await c.get("/files")).json<any>()).data).toEqual([]);
  });

  it("refuses a declared length above MAX_UPLOAD_BYTES with 413 and stores nothing", async () => {
    expect((env as unknown as { MAX_UPLOAD_BYTES: string }).MAX_UPLOAD_BYTES).toBe(String(MAX));
    const org = crypto.randomUUID();
    const c = serviceClient(rpc, org);

    const over = await upload(c, "big.bin", randomBytes(MAX + 1));
    expect(over.status).toBe(413);
    expect(over.headers.get("content-type")).toBe("application/problem+json");
    expect(await over.json()).toMatchObject({ status: 413, max_bytes: MAX });
    expect((await (await c.get("/files")).json<any>()).data).toEqual([]);
    expect((await bucket.list({ prefix: org })).objects).toEqual([]);

    // The limit itself is allowed.
    const bytes = randomBytes(MAX);
    const exact = await upload(c, "max.bin", bytes);
    expect(exact.status).toBe(201);
    expect(await exact.json()).toMatchObject({ size: MAX, sha256: await sha256Hex(bytes) });
  });

  it("rejects a body shorter than its declared Content-Length and keeps no object", async () => {
    const org = crypto.randomUUID();
    const c = serviceClient(rpc, org);
    const res = await upload(c, "short.bin", streamOf(randomBytes(10)), { "content-length": "20" });
    expect(res.status).toBe(400);
    expect((await (await c.get("/files")).json<any>()).data).toEqual([]);
    expect((await bucket.list({ prefix: org })).objects).toEqual([]);
  });

  it("rejects names with path separators or control characters (422)", async () => {
    // The query is checked before the body is read, so these carry none.
    for (const name of ["a/b.txt", "..\\evil.txt", "bad\u0000name", "line\nbreak.txt", "tab\there", "del\u007f", ".", "..", ""]) {
      const res = await a.raw("POST", `/files?name=${encodeURIComponent(name)}`);
      expect(res.status, JSON.stringify(name)).toBe(422);
      const problem = await res.json<any>();
      expect(problem.errors.map((e: any) => e.path)).toEqual(["query.name"]);
    }
    const missing = await a.raw("POST", "/files");
    expect(missing.status).toBe(422);
    expect((await missing.json<any>()).errors[0].path).toBe("query.name");
    expect((await a.raw("POST", `/files?name=${"x".repeat(256)}`)).status).toBe(422);
    expect((await upload(a, "x".repeat(255), randomBytes(4))).status).toBe(201);
  });

  it("hides one organization's files from another", async () => {
    const file = await uploaded(a, "secret.txt");
    for (const res of [
      await b.get(`/files/${file.id}`),
      await b.get(`/files/${file.id}/content`),
      await b.delete(`/files/${file.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, detail: "No file has this id." });
    }
    let cursor: string | null = null;
    const seenByB: string[] = [];
    do {
      const page: any = await (await b.get(`/files?limit=100${cursor ? `&cursor=${cursor}` : ""}`)).json();
      seenByB.push(...page.data.map((f: any) => f.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seenByB).not.toContain(file.id);
    // B's failed delete left A's file whole.
    expect((await a.get(`/files/${file.id}`)).status).toBe(200);
    expect(await objectsOf(file.id)).toHaveLength(1);
  });

  it("answers unknown ids, bad ids and unknown routes with problem+json", async () => {
    expect((await a.get(`/files/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await a.get("/files/not-a-uuid")).status).toBe(422);
    const wrongMethod = await a.raw("PUT", "/files");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, POST");
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
    expect(Object.keys(doc.paths).sort()).toEqual(["/files", "/files/{id}", "/files/{id}/content"]);
    expect(Object.keys(doc.paths["/files"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/files/{id}"]).sort()).toEqual(["delete", "get"]);
  });
});
