import { randomUUID } from "node:crypto";
import { expect, inject } from "vitest";

export const DEMO_ORG = "00000000-0000-4000-8000-000000000001";
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function baseUrl(): string {
  return inject("baseUrl");
}

export const DEMO_ADMIN = "admin@demo.buildly.dev";
export const DEMO_PASSWORD = "buildly-demo-password";

/** A call to the gateway with no credentials. */
export function anon(path: string, init?: RequestInit): Promise<Response> {
  return fetch(baseUrl() + path, init);
}

/** Tokens by email, from the password grant, as a client would hold them. */
const tokens = new Map<string, Promise<string>>();

export async function passwordToken(email: string, password = DEMO_PASSWORD): Promise<string> {
  const res = await anon("/v1/auth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: email, password }).toString(),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

export function tokenFor(email: string, password = DEMO_PASSWORD): Promise<string> {
  let t = tokens.get(email);
  if (!t) {
    t = passwordToken(email, password);
    tokens.set(email, t);
  }
  return t;
}

/** A call to the gateway as the demo organization's admin (unless the call brings its own Authorization). */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${await tokenFor(DEMO_ADMIN)}`);
  return fetch(baseUrl() + path, { ...init, headers });
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

export function patchJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { method: "PATCH", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** Asserts an RFC 9457 answer with the platform's fields, its request_id the one on the response. */
export async function expectProblem(res: Response, status: number): Promise<Problem> {
  const text = await res.text();
  expect(res.status, `expected ${status}, got ${res.status}: ${text}`).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json\b/);
  const body = JSON.parse(text) as Problem;
  expect(body).toMatchObject({
    type: expect.stringMatching(/^https?:\/\/\S+$/),
    title: expect.stringMatching(/\S/),
    status,
    detail: expect.stringMatching(/\S/),
    request_id: expect.stringMatching(/\S/),
  });
  expect(res.headers.get("x-request-id")).toBe(body.request_id);
  return body;
}

/** A value no earlier run used, so tests never depend on what is already in the state. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Every item of a paginated collection, following next_cursor. */
export async function listAll<T = Record<string, unknown>>(path: string, limit = 100): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await api(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: T[]; next_cursor: string | null };
    items.push(...body.data);
    cursor = body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error(`${path} did not stop paginating`);
}

/**
 * Sends a request until the client reads an answer, for requests the server may answer before
 * it has read the whole body (then the connection can be cut while the client still writes).
 * Only transport errors are retried; every answer is returned as is.
 */
export async function untilAnswered(send: () => Promise<Response>, attempts = 5): Promise<Response> {
  const errors: unknown[] = [];
  for (let i = 0; i < attempts; i++) {
    try {
      return await send();
    } catch (err) {
      errors.push((err as { cause?: unknown }).cause ?? err);
    }
  }
  throw new Error(`No answer in ${attempts} attempts: ${errors.map(String).join("; ")}`);
}
