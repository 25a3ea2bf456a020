import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { freshOrg as freshOrgOf, identity, serviceClient, serviceRpc, type ServiceClient } from "@buildly/shared/test";

export const rpc = serviceRpc("DocumentsService");
export const testEnv = env as unknown as Env & {
  MIGRATION_DB: D1Database;
  TEST_SEED: { name: string; queries: string[] }[];
  TEST_MIGRATIONS: { name: string; queries: string[] }[];
};
export const bucket = testEnv.FILES;
export const DB = testEnv.DB;
// vitest.config.ts sets this binding; the tests below depend on its size.
export const MAX = 12 * 1024 * 1024;
export const MiB = 1024 * 1024;

export type Client = ServiceClient;

/** A fresh organization of the documents service and a client for it: its lists hold only what the test puts there. */
export const freshOrg = () => freshOrgOf(rpc);
export { expectProblem, listAll, problemPaths } from "@buildly/shared/test";

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  return out;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

export const text = (s: string) => new TextEncoder().encode(s);

/**
 * workerd does not put Content-Length into a Request's Headers for a byte body (it only adds it
 * on the wire), and the header is what crosses RPC; so declare it as the gateway forwards it.
 */
export function upload(client: Client, name: string, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}, query = "") {
  const declared: Record<string, string> = body instanceof Uint8Array ? { "content-length": String(body.byteLength) } : {};
  return client.raw("POST", `/files?name=${encodeURIComponent(name)}${query}`, { body, headers: { ...declared, ...headers } });
}

export interface FileBody {
  id: string;
  name: string;
  folder_id: string | null;
  content_type: string;
  size: number;
  sha256: string;
  version: number;
  tags: string[];
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export async function uploaded(client: Client, name = "notes.txt", bytes = randomBytes(100), query = ""): Promise<FileBody> {
  const res = await upload(client, name, bytes, {}, query);
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<FileBody>();
}

export async function folder(client: Client, name: string, parent_id: string | null = null): Promise<{ id: string; name: string; parent_id: string | null }> {
  const res = await client.post("/folders", { name, parent_id });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

export function putContent(client: Client, id: string, bytes: Uint8Array, headers: Record<string, string> = {}) {
  return client.raw("PUT", `/files/${id}/content`, { body: bytes, headers: { "content-length": String(bytes.byteLength), ...headers } });
}

/** Every R2 object whose key holds `part` (an org or a file id), found by listing the bucket. */
export async function objectsWith(part: string): Promise<R2Object[]> {
  const found: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ cursor });
    found.push(...page.objects.filter((o) => o.key.includes(part)));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return found;
}

/** A body whose length the Request cannot know, so no Content-Length is set for it. */
export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/** The same bytes, cut into pieces of the given sizes (cycled), as a stream. */
export function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const n = sizes[i % sizes.length]!;
    pieces.push(bytes.slice(at, at + n));
    at += n;
  }
  return streamOf(...pieces);
}

export interface FormPart {
  name: string;
  filename?: string;
  /** A raw Content-Disposition tail, to test unusual encodings. */
  disposition?: string;
  contentType?: string;
  body: Uint8Array | string;
}

/** A multipart/form-data body built by hand, so a test controls every byte of it. */
export function formBody(boundary: string, parts: FormPart[], { preamble = "", epilogue = "" } = {}): Uint8Array {
  const pieces: Uint8Array[] = [text(preamble)];
  for (const [i, p] of parts.entries()) {
    let head = `${i === 0 && !preamble ? "" : "\r\n"}--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    if (p.disposition) head += `; ${p.disposition}`;
    head += "\r\n";
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    pieces.push(text(`${head}\r\n`), typeof p.body === "string" ? text(p.body) : p.body);
  }
  pieces.push(text(`\r\n--${boundary}--\r\n${epilogue}`));
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Posts a hand-built form; `chunks` cuts the body into pieces of those sizes on the way. */
export function postForm(client: Client, path: string, boundary: string, body: Uint8Array, chunks?: number[], method = "POST") {
  return client.raw(method, path, {
    body: chunks ? chunked(body, chunks) : body,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  });
}

export async function row<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T | null> {
  return DB.prepare(sql)
    .bind(...params)
    .first<T>();
}

export async function count(sql: string, ...params: unknown[]): Promise<number> {
  return (await row<{ n: number }>(sql, ...params))!.n;
}

export { identity, serviceClient };
