// Content types are checked at every upload (RFC 9110 grammar), and a stored value that could
// not be a header never breaks a download.
import { describe, expect, it } from "vitest";
import { isMediaType } from "../src/lib/media-type";
import { DB, formBody, freshOrg, objectsWith, postForm, putContent, randomBytes, text, upload, uploaded, type Client } from "./helpers";

const B = "----buildly-media-type-test";

/** Refused: printable or not, each breaks the grammar (or the 255-character limit). */
const MALFORMED = [
  "text/plain\nX-Injected: 1", // bare LF
  "text/plain\rX-Injected: 1", // bare CR
  "text/plain\u0000", // NUL
  "text/pl\u0001ain", // other control characters
  "text/plain\u007f",
  "text/plain;\u000bcharset=utf-8",
  "text",
  "text/",
  "/plain",
  "text/plain/extra",
  "text /plain",
  "text/pl ain",
  "text/plain; charset",
  "text/plain; charset=",
  "text/plain; =utf-8",
  'text/plain; charset="utf-8',
  'text/plain; charset="a"b',
  "text/plain; charset=a b",
  "text/plain, text/html",
  "tëxt/plain",
  'text/plain; name="é"',
  `application/${"x".repeat(250)}`,
];

/** Accepted as given (trimmed). */
const WELL_FORMED = [
  "text/plain",
  "TEXT/Plain",
  "application/vnd.api+json",
  "text/plain;charset=utf-8",
  "text/plain ; charset=utf-8 ;format=flowed",
  'text/plain; charset="utf-8"',
  'application/x-thing; note="a \\"quoted\\" \\\\ value; with, punctuation"',
  "text/plain;",
  "application/x.y-z_1!#$&^`|~'*",
];

async function fieldPath(res: Response): Promise<string[]> {
  expect(res.status, await res.clone().text()).toBe(422);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json<any>()).errors.map((e: any) => e.path);
}

function formWithType(contentType: string, name = "upload.bin") {
  return formBody(B, [{ name: "file", filename: name, contentType, body: "some bytes" }]);
}

async function download(client: Client, path: string) {
  const res = await client.get(path);
  expect(res.status, await res.clone().text()).toBe(200);
  return res;
}

describe("content types at upload", () => {
  it("knows the RFC 9110 grammar", () => {
    for (const value of MALFORMED) expect(isMediaType(value), JSON.stringify(value)).toBe(false);
    for (const value of WELL_FORMED) expect(isMediaType(value.trim()), value).toBe(true);
  });

  it("refuses a multipart file part whose Content-Type is malformed (bare CR or LF, NUL, other controls, bad grammar) with a 422, storing nothing", async () => {
    const { org, client } = freshOrg();
    for (const contentType of MALFORMED) {
      const res = await postForm(client, "/files", B, formWithType(contentType));
      expect(await fieldPath(res), JSON.stringify(contentType)).toEqual(["form.file.content-type"]);
    }
    // The same, cut at every few bytes on the way (the header block arrives in pieces).
    expect(await fieldPath(await postForm(client, "/files", B, formWithType("text/plain\nX: 1"), [1, 3, 7]))).toEqual(["form.file.content-type"]);
    expect(await DB.prepare("SELECT count(*) AS n FROM files WHERE organization_id = ?").bind(org).first("n")).toBe(0);
    expect(await DB.prepare("SELECT count(*) AS n FROM uploads WHERE organization_id = ?").bind(org).first("n")).toBe(0);
    expect(await objectsWith(org)).toEqual([]);
  });

  it("refuses a raw upload or a new version whose Content-Type header is malformed, and keeps the current version", async () => {
    const { org, client } = freshOrg();
    // A Request's Headers already refuse NUL, CR and LF; every other malformed value gets through to the service.
    const sendable = MALFORMED.filter((v) => !/[\0\r\n]/.test(v));
    for (const contentType of sendable) {
      expect(await fieldPath(await upload(client, "raw.bin", randomBytes(10), { "content-type": contentType })), contentType).toEqual(["header.content-type"]);
    }
    const file = await uploaded(client, "kept.txt", text("version one"));
    for (const contentType of sendable) {
      expect(await fieldPath(await putContent(client, file.id, text("version two"), { "content-type": contentType })), contentType).toEqual([
        "header.content-type",
      ]);
    }
    // A form as the new version is checked the same way.
    expect(await fieldPath(await postForm(client, `/files/${file.id}/content`, B, formWithType("text/plain\rX: 1"), undefined, "PUT"))).toEqual([
      "form.file.content-type",
    ]);
    expect((await client.get(`/files/${file.id}`).then((r) => r.json<any>())).version).toBe(1);
    expect(await (await download(client, `/files/${file.id}/content`)).text()).toBe("version one");
    expect((await objectsWith(org)).length).toBe(1);
  });

  it("stores and serves a well-formed content type as given, in a form, a raw body and a new version", async () => {
    const { client } = freshOrg();
    for (const contentType of WELL_FORMED) {
      const viaForm = await postForm(client, "/files", B, formWithType(contentType));
      expect(viaForm.status, contentType).toBe(201);
      const file = await viaForm.json<any>();
      expect(file.content_type).toBe(contentType.trim());
      expect((await download(client, `/files/${file.id}/content`)).headers.get("content-type")).toBe(contentType.trim());

      const raw = await upload(client, "raw.bin", randomBytes(3), { "content-type": contentType });
      expect(raw.status, contentType).toBe(201);
      expect((await raw.json<any>()).content_type).toBe(contentType.trim());
      const v2 = await putContent(client, file.id, randomBytes(3), { "content-type": contentType });
      expect(v2.status, contentType).toBe(200);
    }
  });
});

describe("content types and names stored before the check", () => {
  it("serves application/octet-stream and a safe file name when the stored values could not be header values", async () => {
    const { org, client } = freshOrg();
    const bad: [contentType: string, name: string][] = [
      ["text/plain\nX-Injected: 1", "evil\r\nSet-Cookie: a=b.txt"],
      ["text/plain\r", "nul\u0000name.txt"],
      ["text/html\u0000", "\ud800lone surrogate.txt"],
      ["not a media type", "tail\udc00"],
      ["text/plain\u0001", ""],
      ["tëxt/plain", 'ünïcödé "quoted" \\ name.txt'],
    ];
    for (const [contentType, name] of bad) {
      const bytes = randomBytes(64);
      const file = await uploaded(client, "fine.txt", bytes);
      // Written straight into D1, as a row from before this check (or a hand-made one) would be.
      await DB.batch([
        DB.prepare("UPDATE files SET content_type = ?1, name = ?2 WHERE id = ?3 AND organization_id = ?4").bind(contentType, name, file.id, org),
        DB.prepare("UPDATE file_versions SET content_type = ?1 WHERE file_id = ?2 AND organization_id = ?3").bind(contentType, file.id, org),
      ]);
      for (const path of [`/files/${file.id}/content`, `/files/${file.id}/versions/1/content`]) {
        const res = await download(client, path);
        expect(res.headers.get("content-type"), JSON.stringify(contentType)).toBe("application/octet-stream");
        expect(res.headers.get("x-injected")).toBeNull();
        expect(res.headers.get("set-cookie")).toBeNull();
        const disposition = res.headers.get("content-disposition")!;
        expect(disposition, JSON.stringify(name)).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[\x21-\x7e]+$/);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
      }
      // The metadata still reads back (JSON escapes whatever it holds).
      expect((await client.get(`/files/${file.id}`)).status).toBe(200);
    }
  });
});
