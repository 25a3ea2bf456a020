import { describe, expect, it } from "vitest";
import { ORG_B } from "@buildly/shared/test";
import { boundaryOf, MultipartError, MultipartReader, type PartHeaders } from "../src/lib/multipart";
import {
  MAX,
  MiB,
  bucket,
  chunked,
  count,
  folder,
  formBody,
  freshOrg,
  listAll,
  objectsWith,
  postForm,
  randomBytes,
  rpc,
  serviceClient,
  sha256Hex,
  streamOf,
  text,
} from "./helpers";

const B = "----buildly-test-boundary-7f3a";

interface ParsedPart extends PartHeaders {
  body: Uint8Array;
}

async function parseAll(stream: ReadableStream<Uint8Array>, boundary = B): Promise<ParsedPart[]> {
  const reader = new MultipartReader(stream, boundary);
  const parts: ParsedPart[] = [];
  for (let part; (part = await reader.nextPart()); ) {
    const chunks: Uint8Array[] = [];
    for (let chunk; (chunk = await reader.read()); ) chunks.push(chunk.slice());
    const body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.byteLength;
    }
    parts.push({ ...part, body });
  }
  return parts;
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe("the streaming multipart parser", () => {
  // A file body that holds almost-delimiters: CRLF, "--", the boundary less its last character,
  // the boundary after a single dash.
  const tricky = text(`line one\r\n--${B.slice(0, 10)}\r\n\r\n--${B.slice(0, -1)}\r\n-${B}\r\nend--\r\n`);
  const body = formBody(B, [
    { name: "folder_id", body: "4b1f2c1e-8e0a-4c5d-9a47-1f3f2b0c9d11" },
    { name: "file", filename: "tricky.txt", contentType: "text/plain", body: tricky },
    { name: "tags", body: "" },
  ]);

  it("finds fields and file bodies byte for byte, however the stream is cut", async () => {
    for (const sizes of [[body.byteLength], [1], [2], [3, 1, 7], [B.length + 3], [64, 1]]) {
      const parts = await parseAll(chunked(body, sizes));
      expect(
        parts.map((p) => p.name),
        JSON.stringify(sizes),
      ).toEqual(["folder_id", "file", "tags"]);
      expect(decode(parts[0]!.body)).toBe("4b1f2c1e-8e0a-4c5d-9a47-1f3f2b0c9d11");
      expect(parts[0]!.filename).toBeUndefined();
      expect(parts[1]).toMatchObject({ filename: "tricky.txt", contentType: "text/plain" });
      expect(parts[1]!.body, JSON.stringify(sizes)).toEqual(tricky);
      expect(parts[2]!.body.byteLength).toBe(0);
    }
  });

  it("ignores a preamble and an epilogue, and tolerates padding after a delimiter", async () => {
    const withExtras = formBody(B, [{ name: "a", body: "1" }], { preamble: "This is a preamble.", epilogue: "trailing junk" });
    expect((await parseAll(streamOf(withExtras))).map((p) => [p.name, decode(p.body)])).toEqual([["a", "1"]]);
    const padded = text(`--${B} \t\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${B}--`);
    expect((await parseAll(streamOf(padded))).map((p) => decode(p.body))).toEqual(["x"]);
  });

  it("reads filename* (RFC 8187) over filename, raw UTF-8 names, and escaped quotes", async () => {
    const parts = await parseAll(
      streamOf(
        formBody(B, [
          { name: "file", filename: "fallback.txt", disposition: "filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%80%93.txt", body: "1" },
          { name: "file", filename: "日本語.txt", body: "2" },
          { name: "file", filename: 'say \\"hi\\".txt', body: "3" },
          { name: "file", filename: "x", disposition: "filename*=ISO-8859-1''%E9.txt", body: "4" },
        ]),
      ),
    );
    expect(parts.map((p) => p.filename)).toEqual(["Résumé –.txt", "日本語.txt", 'say "hi".txt', "x"]);
  });

  it("skips the unread rest of a part when asked for the next one", async () => {
    const reader = new MultipartReader(
      chunked(
        formBody(B, [
          { name: "big", body: randomBytes(100_000) },
          { name: "after", body: "ok" },
        ]),
        [4096],
      ),
      B,
    );
    expect((await reader.nextPart())!.name).toBe("big");
    expect((await reader.read())!.byteLength).toBeGreaterThan(0);
    const next = await reader.nextPart();
    expect(next!.name).toBe("after");
    expect(await reader.readText(10)).toBe("ok");
    expect(await reader.nextPart()).toBeNull();
    expect(await reader.nextPart()).toBeNull();
  });

  it("refuses malformed bodies with a MultipartError", async () => {
    const bad: [string, Uint8Array][] = [
      ["no delimiter at all", text("just some bytes")],
      ["truncated inside a part", text(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end`)],
      ["truncated in headers", text(`--${B}\r\nContent-Disposition: form-dat`)],
      ["no Content-Disposition", text(`--${B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${B}--`)],
      ["not form-data", text(`--${B}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${B}--`)],
      ["no field name", text(`--${B}\r\nContent-Disposition: form-data; filename="a"\r\n\r\nx\r\n--${B}--`)],
      ["no headers", text(`--${B}\r\n\r\nx\r\n--${B}--`)],
      ["junk after delimiter", text(`--${B}junk\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${B}--`)],
      ["header line without colon", text(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nbroken\r\n\r\nx\r\n--${B}--`)],
      ["huge header block", text(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${"p".repeat(9000)}\r\n\r\nx\r\n--${B}--`)],
    ];
    for (const [what, bytes] of bad) {
      await expect(parseAll(chunked(bytes, [5])), what).rejects.toBeInstanceOf(MultipartError);
    }
    const many = formBody(
      B,
      Array.from({ length: 33 }, (_, i) => ({ name: `f${i}`, body: "x" })),
    );
    await expect(parseAll(streamOf(many))).rejects.toThrow(/more than 32 parts/);
  });

  it("reads the boundary from the Content-Type", () => {
    expect(boundaryOf(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(boundaryOf('multipart/form-data; charset=utf-8; boundary="with space and:colon"')).toBe("with space and:colon");
    expect(boundaryOf("multipart/form-data; BOUNDARY=abc")).toBe("abc");
    expect(boundaryOf("multipart/form-data")).toBeNull();
    expect(boundaryOf(`multipart/form-data; boundary=${"x".repeat(71)}`)).toBeNull();
    expect(boundaryOf("multipart/form-data; boundary=")).toBeNull();
    expect(boundaryOf(null)).toBeNull();
  });
});

describe("multipart uploads", () => {
  it("streams a form's file of a few MiB into R2 (as an R2 multipart upload) with the right SHA-256", async () => {
    const { org, client } = freshOrg();
    const dir = await folder(client, "Big files");
    const bytes = randomBytes(11 * MiB + 12345);
    const form = new FormData();
    form.append("folder_id", dir.id);
    form.append("tags", "large,contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01");
    form.append("file", new File([bytes], "telemetry.bin", { type: "application/x-telemetry" }));
    const res = await client.raw("POST", "/files", { body: form });
    expect(res.status, await res.clone().text()).toBe(201);
    const file = await res.json<any>();
    expect(file).toMatchObject({
      name: "telemetry.bin",
      folder_id: dir.id,
      content_type: "application/x-telemetry",
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
      version: 1,
      tags: ["large", "contact:6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01"],
    });
    const objects = await objectsWith(file.id);
    expect(objects).toHaveLength(1);
    expect(objects[0]!.size).toBe(bytes.byteLength);
    // R2 marks an object assembled from parts in its ETag: 5 MiB + 5 MiB + the rest.
    expect(objects[0]!.etag).toMatch(/-3$/);
    const download = await client.get(`/files/${file.id}/content`);
    expect(await sha256Hex(new Uint8Array(await download.arrayBuffer()))).toBe(file.sha256);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
  });

  it("handles a form cut into awkward pieces, fields after the file, and a part of exactly 5 MiB", async () => {
    const { client } = freshOrg();
    for (const size of [5 * MiB, 5 * MiB - 1, 10 * MiB, 0]) {
      const bytes = randomBytes(size);
      const body = formBody(B, [
        { name: "file", filename: `part-${size}.bin`, contentType: "application/octet-stream", body: bytes },
        { name: "tags", body: "a,b" },
        { name: "tags", body: "b,c" },
        { name: "name", body: `renamed-${size}.bin` },
      ]);
      const res = await postForm(client, "/files", B, body, [65536, 1, 3, 4093]);
      expect(res.status, `${size}: ${await res.clone().text()}`).toBe(201);
      expect(await res.json()).toMatchObject({ name: `renamed-${size}.bin`, size, sha256: await sha256Hex(bytes), tags: ["a", "b", "c"] });
    }
  });

  it("names the file from filename* and takes query values as defaults", async () => {
    const { client } = freshOrg();
    const dir = await folder(client, "Q");
    const body = formBody(B, [{ name: "file", filename: "fallback.txt", disposition: "filename*=UTF-8''%C3%A9t%C3%A9.txt", body: "summer" }]);
    const res = await postForm(client, `/files?folder_id=${dir.id}&tags=from-query`, B, body);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "été.txt", folder_id: dir.id, tags: ["from-query"], content_type: "application/octet-stream" });
  });

  it("answers 413 for a form whose file passes MAX_UPLOAD_BYTES, and keeps nothing", async () => {
    const { org, client } = freshOrg();
    const body = formBody(B, [{ name: "file", filename: "huge.bin", body: randomBytes(MAX + 1) }]);
    const res = await postForm(client, "/files", B, body);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ status: 413, max_bytes: MAX });
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);

    // A declared length far beyond the limit is refused before anything is read.
    const declared = await client.raw("POST", "/files", {
      body: streamOf(text("x")),
      headers: { "content-type": `multipart/form-data; boundary=${B}`, "content-length": String(MAX + 2 * MiB) },
    });
    expect(declared.status).toBe(413);
  });

  it("refuses bad forms: no file, two files, unknown or repeated fields, bad names, malformed bodies", async () => {
    const { org, client } = freshOrg();
    const foreign = await folder(serviceClient(rpc, ORG_B), `b-${crypto.randomUUID()}`);
    const file = { name: "file", filename: "ok.txt", body: "data" };
    const cases: [string, Uint8Array, number, string?][] = [
      ["no file part", formBody(B, [{ name: "name", body: "x.txt" }]), 422, "form.file"],
      ["two files", formBody(B, [file, file]), 422, "form.file"],
      ["unknown field", formBody(B, [file, { name: "owner", body: "me" }]), 422, "form.owner"],
      ["name twice", formBody(B, [file, { name: "name", body: "a" }, { name: "name", body: "b" }]), 422, "form.name"],
      ["bad name field", formBody(B, [file, { name: "name", body: "../etc/passwd" }]), 422, "form.name"],
      ["bad filename", formBody(B, [{ name: "file", filename: "dir/evil.txt", body: "x" }]), 422, "form.file"],
      ["no filename", formBody(B, [{ name: "file", body: "x" }]), 422, "form.file"],
      ["bad folder_id", formBody(B, [file, { name: "folder_id", body: "nope" }]), 422, "form.folder_id"],
      ["unknown folder", formBody(B, [file, { name: "folder_id", body: crypto.randomUUID() }]), 422, "form.folder_id"],
      ["foreign folder", formBody(B, [file, { name: "folder_id", body: foreign.id }]), 422, "form.folder_id"],
      ["bad tag", formBody(B, [file, { name: "tags", body: "ok,\u0001" }]), 422, "form.tags"],
      ["long field", formBody(B, [file, { name: "tags", body: "t".repeat(9000) }]), 422, "form.tags"],
      ["truncated", formBody(B, [file]).slice(0, 60), 400],
    ];
    for (const [what, body, status, path] of cases) {
      const res = await postForm(client, "/files", B, body, [7]);
      expect(res.status, what).toBe(status);
      const problem = await res.json<any>();
      if (path)
        expect(
          problem.errors.map((e: any) => e.path.replace(/(\.\d+)+$/, "")),
          what,
        ).toContain(path);
    }
    const noBoundary = await client.raw("POST", "/files", { body: "x", headers: { "content-type": "multipart/form-data" } });
    expect(noBoundary.status).toBe(400);
    // Nothing of any of these was kept.
    expect(await listAll(client, "/files")).toEqual([]);
    expect(await objectsWith(org)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM uploads WHERE organization_id = ?", org)).toBe(0);
    expect((await bucket.list({ prefix: `${org}/` })).objects).toEqual([]);
  });
});
