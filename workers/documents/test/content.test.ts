import { describe, expect, it } from "vitest";
import { asciiFallback, contentDisposition, parseRange } from "../src/lib/http";
import { freshOrg, putContent, randomBytes, sha256Hex, upload, uploaded } from "./helpers";

describe("downloads", () => {
  it("streams the same bytes with ETag, Content-Length and headers that keep it private", async () => {
    const { client } = freshOrg();
    const bytes = randomBytes(5000);
    const sha = await sha256Hex(bytes);
    const file = await (await upload(client, "photo.jpg", bytes, { "content-type": "image/jpeg" })).json<any>();
    const res = await client.get(`/files/${file.id}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(res.headers.get("content-length")).toBe("5000");
    expect(res.headers.get("etag")).toBe(`"${sha}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("cache-control")).toBe("private, no-cache");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="photo.jpg"; filename*=UTF-8''photo.jpg`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("answers HEAD with the download's headers and no body", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "head.bin", randomBytes(4321));
    const res = await client.raw("HEAD", `/files/${file.id}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("4321");
    expect(res.headers.get("etag")).toBe(`"${file.sha256}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const partial = await client.raw("HEAD", `/files/${file.id}/content`, { headers: { range: "bytes=0-9" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 0-9/4321");
  });

  it("answers If-None-Match with 304 when a tag matches (strong, weak, in a list, or *)", async () => {
    const { client } = freshOrg();
    const bytes = randomBytes(300);
    const sha = await sha256Hex(bytes);
    const file = await uploaded(client, "x.bin", bytes);
    for (const tag of [`"${sha}"`, `W/"${sha}"`, `"other", "${sha}"`, "*"]) {
      const cached = await client.get(`/files/${file.id}/content`, { "if-none-match": tag });
      expect(cached.status, tag).toBe(304);
      expect(cached.headers.get("etag")).toBe(`"${sha}"`);
      expect(await cached.text()).toBe("");
    }
    const stale = await client.get(`/files/${file.id}/content`, { "if-none-match": `"${"0".repeat(64)}"` });
    expect(stale.status).toBe(200);
    expect(new Uint8Array(await stale.arrayBuffer())).toEqual(bytes);
    // 304 wins over Range.
    expect((await client.get(`/files/${file.id}/content`, { "if-none-match": `"${sha}"`, range: "bytes=0-1" })).status).toBe(304);
  });

  it("serves one byte range with 206 and Content-Range", async () => {
    const { client } = freshOrg();
    const bytes = randomBytes(1000);
    const file = await uploaded(client, "r.bin", bytes);
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      ["bytes=990-", 990, 999],
      ["bytes=-5", 995, 999],
      ["bytes=500-5000", 500, 999],
      ["bytes=-5000", 0, 999],
      ["bytes=999-999", 999, 999],
      ["BYTES = 10 - 19", 10, 19],
    ];
    for (const [range, start, end] of cases) {
      const res = await client.get(`/files/${file.id}/content`, { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/1000`);
      expect(res.headers.get("content-length"), range).toBe(String(end - start + 1));
      expect(res.headers.get("etag")).toBe(`"${file.sha256}"`);
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(bytes.slice(start, end + 1));
    }
  });

  it("answers 416 for an unsatisfiable range, and ignores ranges it does not serve", async () => {
    const { client } = freshOrg();
    const bytes = randomBytes(100);
    const file = await uploaded(client, "r.bin", bytes);
    for (const range of ["bytes=100-", "bytes=100-200", "bytes=-0"]) {
      const res = await client.get(`/files/${file.id}/content`, { range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get("content-range")).toBe("bytes */100");
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ status: 416, title: "Range Not Satisfiable" });
    }
    // Several ranges, another unit, nonsense, an inverted range: the whole body (RFC 9110 lets a server ignore Range).
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes=9-3", "bytes=-"]) {
      const res = await client.get(`/files/${file.id}/content`, { range });
      expect(res.status, range).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    }
    const empty = await uploaded(client, "empty.bin", new Uint8Array(0));
    expect((await client.get(`/files/${empty.id}/content`, { range: "bytes=0-" })).status).toBe(416);
  });

  it("honours If-Range: the range only while the ETag still matches", async () => {
    const { client } = freshOrg();
    const bytes = randomBytes(100);
    const file = await uploaded(client, "r.bin", bytes);
    const same = await client.get(`/files/${file.id}/content`, { range: "bytes=0-9", "if-range": `"${file.sha256}"` });
    expect(same.status).toBe(206);
    const changed = await client.get(`/files/${file.id}/content`, { range: "bytes=0-9", "if-range": `"${"1".repeat(64)}"` });
    expect(changed.status).toBe(200);
    expect(new Uint8Array(await changed.arrayBuffer())).toEqual(bytes);
  });

  it("names non-ASCII files with filename* (RFC 8187) and an ASCII fallback filename (RFC 6266)", async () => {
    const { client } = freshOrg();
    const name = "Résumé 2026 – 日本.pdf";
    const file = await uploaded(client, name);
    expect(file.name).toBe(name);
    const disposition = (await client.get(`/files/${file.id}/content`)).headers.get("content-disposition")!;
    expect(disposition).toBe(`attachment; filename="Resume 2026 _ __.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026%20%E2%80%93%20%E6%97%A5%E6%9C%AC.pdf`);
    // ext-value = charset "'" [ language ] "'" value-chars, value-chars = *( pct-encoded / attr-char )
    const value = /filename\*=UTF-8''(.*)$/.exec(disposition)![1]!;
    expect(value).toMatch(/^(?:%[0-9A-F]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*$/);
    expect(decodeURIComponent(value)).toBe(name);
    // The fallback is a plain quoted-string of printable ASCII.
    expect(/filename="([^"]*)"/.exec(disposition)![1]).toMatch(/^[\x20-\x7e]*$/);
  });

  it("escapes ' ( ) * in filename* and keeps quotes, backslashes and % out of the fallback", async () => {
    expect(contentDisposition("O'Brien (final)*.txt")).toBe(`attachment; filename="O'Brien (final)*.txt"; filename*=UTF-8''O%27Brien%20%28final%29%2A.txt`);
    expect(asciiFallback('say "hi" \\ 100%.txt')).toBe("say _hi_ _ 100_.txt");
    expect(asciiFallback("naïve café.txt")).toBe("naive cafe.txt");
    const { client } = freshOrg();
    const file = await uploaded(client, 'a "quoted" name.txt');
    expect((await client.get(`/files/${file.id}/content`)).headers.get("content-disposition")).toBe(
      `attachment; filename="a _quoted_ name.txt"; filename*=UTF-8''a%20%22quoted%22%20name.txt`,
    );
  });

  it("parses ranges (unit)", () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: "full" });
    expect(parseRange("bytes=2-4", 10)).toEqual({ kind: "partial", offset: 2, length: 3 });
    expect(parseRange("bytes=-3", 10)).toEqual({ kind: "partial", offset: 7, length: 3 });
    expect(parseRange("bytes=10-", 10)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=1-2, 3-4", 10)).toEqual({ kind: "full" });
  });

  it("downloads the current version after a new one is stored", async () => {
    const { client } = freshOrg();
    const file = await uploaded(client, "doc.txt", new TextEncoder().encode("first"));
    const v2 = new TextEncoder().encode("second version");
    expect((await putContent(client, file.id, v2, { "content-type": "text/plain" })).status).toBe(200);
    const res = await client.get(`/files/${file.id}/content`);
    expect(await res.text()).toBe("second version");
    expect(res.headers.get("etag")).toBe(`"${await sha256Hex(v2)}"`);
    expect(res.headers.get("content-type")).toBe("text/plain");
    // The old ETag no longer matches.
    expect((await client.get(`/files/${file.id}/content`, { "if-none-match": `"${file.sha256}"` })).status).toBe(200);
  });
});
