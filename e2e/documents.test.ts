// Uploads and downloads are raw requests: a file's body is its bytes, streamed both ways, and the
// test checks Content-Length, ETag and If-None-Match itself; the missing name is a malformed
// upload on purpose. The other calls go through the SDK (typed from /openapi.json).
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UUID, api, expectApiError, expectProblem, sdk, unique } from "./helpers";

const SIZE = 50 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** SIZE random bytes made on demand (never held whole), hashed as they are handed out. */
function generatedBody(size: number) {
  const hash = createHash("sha256");
  let produced = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= size) {
        controller.close();
        return;
      }
      const chunk = randomBytes(Math.min(CHUNK, size - produced));
      produced += chunk.byteLength;
      hash.update(chunk);
      controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
  });
  return { stream, produced: () => produced, sha256: () => hash.digest("hex") };
}

describe("documents: a large upload streamed through the gateway", () => {
  it("stores 50 MB sent as a stream with Content-Length; the sha256 matches what was sent and what comes back", async () => {
    const name = `${unique("big")}.bin`;
    const body = generatedBody(SIZE);
    const res = await api(`/v1/documents/files?name=${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "content-length": String(SIZE) },
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    const file = (await res.json()) as { id: string; name: string; size: number; sha256: string; content_type: string };
    expect(res.status, JSON.stringify(file)).toBe(201);
    expect(body.produced()).toBe(SIZE);
    const sent = body.sha256();

    expect(file.id).toMatch(UUID);
    expect(res.headers.get("location")).toBe(`/v1/documents/files/${file.id}`);
    expect(file).toMatchObject({ name, size: SIZE, sha256: sent, content_type: "application/octet-stream" });

    const download = await api(`/v1/documents/files/${file.id}/content`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-length")).toBe(String(SIZE));
    expect(download.headers.get("etag")).toBe(`"${sent}"`);
    const received = createHash("sha256");
    let bytes = 0;
    for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
      received.update(chunk);
      bytes += chunk.byteLength;
    }
    expect(bytes).toBe(SIZE);
    expect(received.digest("hex")).toBe(sent);

    const notModified = await api(`/v1/documents/files/${file.id}/content`, { headers: { "if-none-match": `"${sent}"` } });
    expect(notModified.status).toBe(304);

    const path = { id: file.id };
    expect((await sdk().withResponse.DELETE("/v1/documents/files/{id}", { params: { path } })).response.status).toBe(204);
    await expectApiError(sdk().GET("/v1/documents/files/{id}/content", { params: { path }, parseAs: "arrayBuffer" }), 404);
  }, 60_000);

  it("takes a chunked upload of unknown length (streamed to R2 in parts), and asks for a name (422)", async () => {
    const bytes = new Uint8Array(1000).map((_, i) => i % 251);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 400));
        controller.enqueue(bytes.subarray(400));
        controller.close();
      },
    });
    const res = await api(`/v1/documents/files?name=${unique("chunked")}.bin`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: chunked,
      duplex: "half",
    } as RequestInit);
    expect(res.status, await res.clone().text()).toBe(201);
    const meta = (await res.json()) as { id: string; size: number; sha256: string };
    expect(meta.size).toBe(1000);
    expect(meta.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    const back = new Uint8Array(await (await api(`/v1/documents/files/${meta.id}/content`)).arrayBuffer());
    expect(back).toEqual(bytes);

    const noName = await api("/v1/documents/files", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    const p = await expectProblem(noName, 422);
    expect(p.errors!.map((e) => e.path).join(" ")).toContain("name");
  });
});
