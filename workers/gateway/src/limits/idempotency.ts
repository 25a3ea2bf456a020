import type { Context } from "hono";
import { ApiError, readBytesLimited, toHex } from "@buildly/shared";
import type { GatewayEnv } from "../types";
import type { StoredResponse } from "./idempotency-store";
import { objectCall } from "../http/telemetry";

/** Bodies of keyed requests are read whole to fingerprint them, and responses to store them. */
export const IDEMPOTENT_MAX_BYTES = 1024 * 1024;

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key of a POST or PATCH (an sf-string; bare values are accepted too). */
export function idempotencyKey(c: Context<GatewayEnv>): string | undefined {
  const method = c.req.method;
  if (method !== "POST" && method !== "PATCH") return undefined;
  const raw = c.req.header("idempotency-key");
  if (raw === undefined) return undefined;
  const key = raw.trim().replace(/^"(.*)"$/, "$1");
  if (!KEY.test(key)) throw new ApiError(400, "Idempotency-Key must be 1 to 255 visible ASCII characters.");
  return key;
}

async function digestHex(...parts: (string | Uint8Array)[]): Promise<string> {
  const bytes = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : p));
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.byteLength, 0));
  let offset = 0;
  for (const b of bytes) {
    all.set(b, offset);
    offset += b.byteLength;
  }
  return toHex(await crypto.subtle.digest("SHA-256", all));
}

/**
 * Who a key belongs to: the draft's "client", i.e. the principal (user or API client, of its
 * issuer) within its organization. Scoped to the organization alone, one member could send
 * another's key and body and be handed the other's stored response.
 */
export interface KeyOwner {
  organization_id: string;
  issuer: string;
  kind: "user" | "client";
  subject: string;
}

/** The verified caller of this request as a key's owner. */
export function keyOwnerOf(c: Context<GatewayEnv>): KeyOwner {
  const principal = c.get("principal");
  if (!principal) throw new ApiError(401, "This call needs an access token.");
  const { organization_id, issuer, kind, subject } = principal;
  return { organization_id, issuer, kind, subject };
}

async function store(env: Env, owner: KeyOwner, key: string) {
  // A digest of the whole tuple: a bounded object name, and no separator a key could forge.
  const name = await digestHex(JSON.stringify([owner.organization_id, owner.issuer, owner.kind, owner.subject, key]));
  return env.IDEMPOTENCY.getByName(name);
}

function replay(stored: StoredResponse): Response {
  const headers = new Headers(stored.headers);
  headers.set("idempotent-replayed", "true");
  return new Response(stored.status === 204 || stored.status === 304 ? null : stored.body, { status: stored.status, headers });
}

/**
 * Runs `send` at most once per (caller, key): a retry with the same request gets the
 * stored response back; the same key with another request is 422; a duplicate while the
 * first still runs is 409.
 */
export async function idempotent(
  c: Context<GatewayEnv>,
  owner: KeyOwner,
  key: string,
  maxBytes: number,
  send: (body: Uint8Array) => Promise<Response>,
): Promise<Response> {
  const body = await readBytesLimited(c.req.raw, Math.min(maxBytes, IDEMPOTENT_MAX_BYTES));
  const url = new URL(c.req.url);
  const fingerprint = await digestHex(`${c.req.method} ${url.pathname}${url.search}\n${c.req.header("content-type") ?? ""}\n`, body);
  const stub = await store(c.env, owner, key);
  const begun = await objectCall(c, "IdempotencyStore begin", async (trace, span) => {
    const b = await stub.begin(fingerprint, trace);
    span.setAttributes({ "buildly.idempotency.state": b.state });
    return b;
  });
  const release = () => objectCall(c, "IdempotencyStore release", (trace) => stub.release(fingerprint, trace));
  if (begun.state === "mismatch") {
    throw new ApiError(422, "This Idempotency-Key was already used with a different request.", {
      errors: [{ path: "Idempotency-Key", message: "Reused with another request" }],
    });
  }
  if (begun.state === "in_flight")
    throw new ApiError(409, "A request with this Idempotency-Key is still being processed. Retry later.", { headers: { "retry-after": "1" } });
  if (begun.state === "done") return replay(begun.response as StoredResponse);

  let response: Response;
  try {
    response = await send(body);
  } catch (err) {
    await release();
    throw err;
  }
  // A server error is not an outcome to replay: let a retry run the request again.
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (response.status >= 500 || declared > IDEMPOTENT_MAX_BYTES) {
    await release();
    return response;
  }
  const bytes = await response.arrayBuffer();
  const stored: StoredResponse = {
    status: response.status,
    headers: [...response.headers].filter(([k]) => k !== "x-request-id") as [string, string][],
    body: bytes,
  };
  await objectCall(c, "IdempotencyStore complete", (trace) => stub.complete(fingerprint, stored, trace));
  return new Response(response.status === 204 || response.status === 304 ? null : bytes, { status: response.status, headers: response.headers });
}
