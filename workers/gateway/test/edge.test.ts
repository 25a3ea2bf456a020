import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, json, registerOrganization, type Account } from "./helpers";

/*
 * The edge (src/http/edge.ts) does in one middleware what five did: request id and trace, CORS,
 * the refusal of a path with no canonical form, Server-Timing, and under /v1 the private caching
 * headers. Each step must still apply where it did, and only there, on every kind of route: a
 * proxied one, the gateway's own, one that is not found, a refused path, a preflight.
 */
const ORIGIN = "https://app.example";
const EXPOSED =
  "x-request-id,location,etag,retry-after,ratelimit,ratelimit-policy,idempotent-replayed,content-range,content-disposition,accept-ranges,server-timing,mesh-complete,buildly-d1-bookmark";

let admin: Account;
let contactId: string;
beforeAll(async () => {
  admin = await registerOrganization("Edge tests");
  const created = await call(
    "/v1/crm/contacts",
    bearer(admin.access_token, json("POST", { first_name: "E", last_name: "Dge", email: `edge-${crypto.randomUUID()}@example.com` })),
  );
  expect(created.status).toBe(201);
  contactId = (await created.json<{ id: string }>()).id;
});
const authed = (path: string, init: RequestInit = {}) => call(path, bearer(admin.access_token, init));

function expectRequestContext(res: Response, requestId?: string) {
  if (requestId) expect(res.headers.get("x-request-id")).toBe(requestId);
  else expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
}

describe("the edge: every step where it applied, on every kind of route", () => {
  it("a proxied read: request id echoed, trace, Server-Timing, private caching, rate-limit and CORS headers", async () => {
    const requestId = `edge-${crypto.randomUUID()}`;
    const res = await authed(`/v1/crm/contacts/${contactId}`, { headers: { "x-request-id": requestId } });
    expect(res.status).toBe(200);
    expectRequestContext(res, requestId);
    expect(res.headers.get("server-timing")).toMatch(/^crm;dur=[0-9.]+;desc="handle"$/);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.headers.get("vary")).toBe("Origin");
    expect(res.headers.get("ratelimit-policy")).toContain('"organization"');
    expect(res.headers.get("access-control-expose-headers")).toBe(EXPOSED);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    // The same read from an allowed browser origin goes through hono's cors.
    const browser = await authed(`/v1/crm/contacts/${contactId}`, { headers: { origin: ORIGIN } });
    expect(browser.status).toBe(200);
    expect(browser.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(browser.headers.get("access-control-expose-headers")).toBe(EXPOSED);
    expect(browser.headers.get("cache-control")).toBe("private, no-store");
    expect(browser.headers.get("server-timing")).toMatch(/^crm;/);
    expectRequestContext(browser);
  });

  it("a preflight is answered by CORS alone, before auth, rate limits and caching headers", async () => {
    const res = await call(`/v1/crm/contacts/${contactId}`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "PATCH" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("cache-control")).toBeNull();
    expect(res.headers.get("ratelimit")).toBeNull();
    expectRequestContext(res);
  });

  it("an OPTIONS that is not a preflight is routed like any request: 405 with Allow, no CORS headers", async () => {
    const res = await authed(`/v1/crm/contacts/${contactId}`, { method: "OPTIONS" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");
    expect(res.headers.get("access-control-expose-headers")).toBeNull();
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expectRequestContext(res);
  });

  it("a refused path answers 400 with CORS and the request id, before the caching headers and rate limits", async () => {
    const requestId = `edge-${crypto.randomUUID()}`;
    const res = await authed("/v1/crm/%2Fcontacts", { headers: { "x-request-id": requestId } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await res.json<{ request_id: string }>()).request_id).toBe(requestId);
    expectRequestContext(res, requestId);
    expect(res.headers.get("access-control-expose-headers")).toBe(EXPOSED);
    expect(res.headers.get("cache-control")).toBeNull();
    expect(res.headers.get("ratelimit")).toBeNull();
    expect(res.headers.get("server-timing")).toBeNull();
  });

  it("not found: private under /v1 (the path itself included), not elsewhere; CORS and request id on both", async () => {
    for (const path of ["/v1", "/v1/", "/v1/nothing"]) {
      const res = await authed(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("cache-control"), path).toBe("private, no-store");
      expect(res.headers.get("access-control-expose-headers"), path).toBe(EXPOSED);
      expectRequestContext(res);
    }
    for (const path of ["/nothing", "/v1x", "/v2/crm/contacts"]) {
      const res = await call(path, { headers: { origin: ORIGIN } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("cache-control"), path).toBeNull();
      expect(res.headers.get("access-control-allow-origin"), path).toBe(ORIGIN);
      expect(res.headers.get("vary"), path).toBe("Origin");
      expectRequestContext(res);
    }
  });

  it("the gateway's own routes and their errors: private, no Server-Timing without a service call", async () => {
    const me = await authed("/v1/auth/me");
    expect(me.status).toBe(200);
    expect(me.headers.get("cache-control")).toBe("private, no-store");
    expect(me.headers.get("server-timing")).toBeNull();
    expectRequestContext(me);
    const anonymous = await call("/v1/crm/contacts");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("cache-control")).toBe("private, no-store");
    expect(anonymous.headers.get("ratelimit-policy")).toContain('"ip"');
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="buildly"');
    expectRequestContext(anonymous);
    // An error after a service call still carries the call's timing.
    const missing = await authed("/v1/crm/contacts/00000000-0000-4000-8000-00000000dead");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("server-timing")).toMatch(/^crm;/);
    expect(missing.headers.get("cache-control")).toBe("private, no-store");
  });
});
