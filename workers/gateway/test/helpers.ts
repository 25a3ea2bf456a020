import { expect } from "vitest";
import { env, exports } from "cloudflare:workers";

const gateway = exports.default;

/** Calls the gateway Worker as a client would. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return gateway.fetch(`https://gateway.example${path}`, init);
}

export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

export { expectProblem } from "@buildly/shared/test";

/** The answer's JSON body (undefined when empty), after checking its status (the body is the message if not). */
export async function ok<T = any>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Polls `probe` every 20 ms until it answers something, for at most `ms`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A body that streams `size` pseudo-random bytes in 64 KiB chunks, and its SHA-256. */
export async function streamOf(size: number) {
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7919) % 251;
  const digest = new crypto.DigestStream("SHA-256");
  const w = digest.getWriter();
  let left = size;
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    await w.write(chunk.subarray(0, n));
    left -= n;
  }
  await w.close();
  const sha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(size - sent, chunk.length);
      controller.enqueue(chunk.slice(0, n));
      sent += n;
    },
  });
  return { stream, sha256 };
}

export const PASSWORD = "correct horse battery staple";

export interface Account {
  email: string;
  password: string;
  organization_id: string;
  user_id: string;
  access_token: string;
  refresh_token: string;
}

export function form(params: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(params).toString() };
}

export async function login(email: string, password = PASSWORD) {
  const res = await call("/v1/auth/token", form({ grant_type: "password", username: email, password }));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<{ access_token: string; refresh_token: string; expires_in: number; scope: string; token_type: string }>();
}

/** Registers a fresh organization whose admin is a fresh user, and logs in. */
export async function registerOrganization(name = "Org", email = `admin-${crypto.randomUUID()}@example.com`): Promise<Account> {
  const res = await call("/v1/auth/register", json("POST", { email, password: PASSWORD, name: "Admin", organization_name: name }));
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json<any>();
  const tokens = await login(email);
  return { email: body.user.email, password: PASSWORD, organization_id: body.organization.id, user_id: body.user.id, ...tokens };
}

/**
 * A new organization whose own first events (its admin registered, then signed in) are in its
 * audit trail already. They come through the queue, so with a plain registerOrganization they may
 * land in the middle of a test's own entries (and did, on a loaded machine). `base`: how many
 * entries its chain holds then; a test's entries follow at base + 1, base + 2, ...
 */
export async function settledOrganization(name = "Org"): Promise<Account & { base: number }> {
  const admin = await registerOrganization(name);
  const first = ["identity.user.registered", "identity.login.succeeded"];
  const db = Reflect.get(env, "DB") as D1Database;
  for (let i = 0; i < 200; i++) {
    const { results } = await db.prepare("SELECT type FROM audit_entries WHERE organization_id = ?1").bind(admin.organization_id).all<{ type: string }>();
    if (first.every((t) => results.some((r) => r.type === t))) return { ...admin, base: results.length };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the first events of ${name} never reached its audit trail`);
}

export function bearer(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } };
}

/** How many responses had each status, e.g. { 400: 3, 429: 17 }. */
export function statuses(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/**
 * A body of `size` bytes (endless when size is Infinity) that counts what the reader pulled,
 * so a test can tell whether the gateway stopped reading at its limit.
 */
export function countingStream(size: number, chunkBytes = 64 * 1024) {
  let pulled = 0;
  const chunk = new Uint8Array(chunkBytes).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= size) return controller.close();
      const n = Math.min(chunkBytes, size - pulled);
      pulled += n;
      controller.enqueue(chunk.slice(0, n));
    },
  });
  return { stream, pulled: () => pulled };
}

/**
 * The newest mail to `to` in the outbox. Mail that depends on whether an account exists is
 * written after the answer (ctx.waitUntil), so this waits for it, a bounded number of times.
 */
export async function mailTo(db: D1Database, to: string, newerThan = ""): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const row = await db
      .prepare("SELECT body, created_at FROM email_outbox WHERE to_email = ? AND created_at > ? ORDER BY created_at DESC LIMIT 1")
      .bind(to, newerThan)
      .first<{ body: string }>();
    if (row) return row.body;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no mail to ${to}`);
}

/** The three services this repository ships with; the tests about them name them. */
export const BUILTIN_SERVICES = ["crm", "documents", "appointments"];

/**
 * Services added with `npm run new-service` (every logic service the test config found under
 * workers/ beyond the built-in ones): tests that list exactly what the built-in services offer
 * leave these out, so the suite passes right after a service is added.
 */
export const ADDED_SERVICES: string[] = (Reflect.get(env, "TEST_LOGIC_SERVICES") as string[]).filter((s) => !BUILTIN_SERVICES.includes(s));
