// Every body the gateway reads itself is read against a limit, declared or not: the answer is
// 413 once the limit is passed. The rest is read and dropped before the answer (up to
// UNREAD_MAX_BYTES; a body declared longer is not read at all), so that a client on a real
// socket gets the 413 instead of a reset (issue 17; e2e/limits.test.ts sends 20 MiB).
import { beforeAll, describe, expect, it } from "vitest";
import { UNREAD_MAX_BYTES } from "../src/http/unread-body";
import { bearer, call, countingStream, json, registerOrganization, type Account } from "./helpers";

const BIG = 8 * 1024 * 1024;
/** The largest gateway route limit (16 KiB) plus what a stream may buffer ahead of the reader. */
const READ_AT_MOST = 16 * 1024 + 512 * 1024;

type Mode = "content-length" | "chunked" | "fixed-length";
const MODES: Mode[] = ["content-length", "chunked", "fixed-length"];

/** A POST/PATCH/PUT whose body is BIG bytes, sent with a declared length, chunked, or from a FixedLengthStream. */
async function send(path: string, method: string, contentType: string, mode: Mode, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { "content-type": contentType, ...headers };
  let pulled: () => number;
  let body: ReadableStream<Uint8Array>;
  if (mode === "fixed-length") {
    const fixed = new FixedLengthStream(BIG);
    const writer = fixed.writable.getWriter();
    let written = 0;
    void (async () => {
      const chunk = new Uint8Array(64 * 1024).fill(0x61);
      try {
        while (written < BIG) {
          await writer.write(chunk);
          written += chunk.byteLength;
        }
        await writer.close();
      } catch {
        // The gateway stopped reading: that is the point.
      }
    })();
    body = fixed.readable;
    pulled = () => written;
  } else {
    const s = countingStream(BIG);
    body = s.stream;
    pulled = s.pulled;
    if (mode === "content-length") h["content-length"] = String(BIG);
  }
  const res = await call(path, { method, headers: h, body, duplex: "half" } as RequestInit);
  return { res, pulled: pulled() };
}

let admin: Account;
let userId: string;
let roleId: string;
beforeAll(async () => {
  admin = await registerOrganization("Body limits");
  const user = await call(
    "/v1/users",
    bearer(
      admin.access_token,
      json("POST", { email: `b-${crypto.randomUUID()}@example.com`, name: "B", password: "correct horse battery staple", roles: ["viewer"] }),
    ),
  );
  userId = (await user.json<any>()).id;
  const role = await call(
    "/v1/roles",
    bearer(admin.access_token, json("POST", { name: `r-${crypto.randomUUID().slice(0, 8)}`, permissions: { crm: ["read"] } })),
  );
  roleId = (await role.json<any>()).id;
});

describe("OAuth endpoints refuse an oversized body with 413 in the RFC 6749 error form", () => {
  for (const path of ["/v1/auth/token", "/v1/auth/revoke"]) {
    for (const mode of MODES) {
      for (const type of ["application/x-www-form-urlencoded", "application/json"]) {
        it(`${path}, ${type}, ${mode}`, async () => {
          const { res, pulled } = await send(path, "POST", type, mode);
          expect(res.status).toBe(413);
          expect(res.headers.get("content-type")).toBe("application/json");
          expect(res.headers.get("cache-control")).toBe("no-store");
          expect(await res.json<any>()).toMatchObject({ error: "invalid_request", error_description: expect.stringContaining("bytes") });
          // Read to its end and dropped: the client sent it all and reads the answer.
          expect(pulled).toBe(BIG);
        });
      }
    }
  }
});

describe("every other gateway route with a body refuses an oversized one with 413 problem+json", () => {
  const routes: [string, string, () => string, boolean][] = [
    ["POST", "/v1/auth/register", () => "", false],
    ["POST", "/v1/auth/password", () => "", true],
    ["POST", "/v1/auth/password-reset", () => "", false],
    ["POST", "/v1/auth/password-reset/confirm", () => "", false],
    ["POST", "/v1/users", () => "", true],
    ["PATCH", "/v1/users/{id}", () => userId, true],
    ["PUT", "/v1/users/{id}/roles", () => userId, true],
    ["POST", "/v1/roles", () => "", true],
    ["PATCH", "/v1/roles/{id}", () => roleId, true],
    ["POST", "/v1/invitations", () => "", true],
    ["POST", "/v1/clients", () => "", true],
    ["PATCH", "/v1/organizations/current", () => "", true],
  ];
  for (const [method, template, id, authed] of routes) {
    for (const mode of MODES) {
      it(`${method} ${template}, ${mode}`, async () => {
        const path = template.replace("{id}", id());
        const { res, pulled } = await send(path, method, "application/json", mode, authed ? { authorization: `Bearer ${admin.access_token}` } : {});
        expect(res.status).toBe(413);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
        expect((await res.json<any>()).status).toBe(413);
        // Read to its end and dropped: the client sent it all and reads the answer.
        expect(pulled).toBe(BIG);
      });
    }
  }
});

describe("what the gateway reads of a refused body stays bounded", () => {
  it("a body declared longer than it would read is not read at all", async () => {
    const s = countingStream(UNREAD_MAX_BYTES * 2);
    const res = await call("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(UNREAD_MAX_BYTES * 2) },
      body: s.stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(s.pulled()).toBeLessThan(READ_AT_MOST);
  });

  it("an endless chunked body is read up to UNREAD_MAX_BYTES, then cut off with the 413 still answered", async () => {
    const s = countingStream(Number.POSITIVE_INFINITY);
    const res = await call("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: s.stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(s.pulled()).toBeGreaterThan(UNREAD_MAX_BYTES);
    expect(s.pulled()).toBeLessThan(UNREAD_MAX_BYTES + READ_AT_MOST);
  }, 120_000);

  it("a proxied body streamed past the service's limit is cut off for the service, and its rest read here", async () => {
    const s = countingStream(16 * 1024 * 1024);
    const res = await call("/v1/fixture/upload", bearer(admin.access_token, { method: "POST", body: s.stream, duplex: "half" } as RequestInit));
    expect(res.status).toBe(413);
    expect((await res.json<any>()).max_bytes).toBe(8 * 1024 * 1024);
    expect(s.pulled()).toBe(16 * 1024 * 1024);
  });

  it("an answer given before any reading (no token) reads the rest as well", async () => {
    const s = countingStream(BIG);
    const res = await call("/v1/crm/contacts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: s.stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(401);
    expect(s.pulled()).toBe(BIG);
  });
});
