import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, json, registerOrganization, type Account } from "./helpers";

let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Caching");
});
const authed = (path: string, init: RequestInit = {}) => call(path, bearer(admin.access_token, init));

function expectNoStore(res: Response, what: string) {
  expect(res.headers.get("cache-control"), what).toBe("private, no-store");
}

describe("Cache-Control on everything under /v1", () => {
  it("the gateway's own answers, errors included, are private and never stored", async () => {
    const cases: [string, Promise<Response>][] = [
      ["me", authed("/v1/auth/me")],
      ["organization", authed("/v1/organizations/current")],
      ["users", authed("/v1/users")],
      ["services (anonymous)", call("/v1/services")],
      ["401", call("/v1/auth/me")],
      ["401 proxied", call("/v1/crm/contacts")],
      ["403", authed("/v1/users", json("POST", {}, { authorization: "Bearer x" }))],
      ["404 unknown service", authed("/v1/nope/things")],
      ["404 unknown path", authed("/v1/nothing")],
      ["404 own route", authed("/v1/users/00000000-0000-4000-8000-00000000dead")],
      ["405", authed("/v1/auth/me", { method: "DELETE" })],
      ["415", authed("/v1/organizations/current", { method: "PATCH", headers: { "content-type": "text/plain" }, body: "x" })],
      ["422", authed("/v1/organizations/current", json("PATCH", { unknown: 1 }))],
    ];
    const ip = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
    const burst = await Promise.all(Array.from({ length: 7 }, () => call("/v1/services", { headers: { "cf-connecting-ip": ip } })));
    cases.push(["429", Promise.resolve(burst.find((r) => r.status === 429)!)]);
    for (const [what, pending] of cases) {
      const res = await pending;
      expectNoStore(res, `${what} (${res.status})`);
    }
    // The token endpoint's own no-store (RFC 6749 5.1) is kept as it is: it already forbids every cache.
    const token = await call("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=password",
    });
    expect(token.headers.get("cache-control")).toBe("no-store");
  });

  it("proxied answers without a policy of their own are private and never stored, errors included", async () => {
    const created = await authed("/v1/crm/contacts", json("POST", { first_name: "C", last_name: "C", email: `c-${crypto.randomUUID()}@example.com` }));
    expect(created.status).toBe(201);
    expectNoStore(created, "201");
    expectNoStore(await authed("/v1/crm/contacts?limit=1"), "list");
    expectNoStore(await authed("/v1/crm/contacts/not-a-uuid"), "422 from the service");
    expectNoStore(await authed("/v1/crm/no-such-route"), "404 from the service");
    expectNoStore(await authed("/v1/fixture/throw"), "502");
    expectNoStore(await authed("/v1/fixture/hang"), "504");
    expectNoStore(await authed("/v1/fixture/x", json("POST", {}, { "idempotency-key": "not valid" })), "400 bad key");
  });

  it("keeps a service's deliberate policy, made private, and varies it by Authorization", async () => {
    const up = await authed("/v1/documents/files?name=c.txt", { method: "POST", headers: { "content-type": "text/plain" }, body: "cached" });
    const { id } = await up.json<any>();
    const download = await authed(`/v1/documents/files/${id}/content`);
    expect(await download.text()).toBe("cached");
    expect(download.headers.get("cache-control")).toBe("private, no-cache");
    expect(download.headers.get("vary")?.toLowerCase()).toContain("authorization");
    const etag = download.headers.get("etag")!;
    const notModified = await authed(`/v1/documents/files/${id}/content`, { headers: { "if-none-match": etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("cache-control")).toBe("private, no-cache");
    expect(notModified.headers.get("vary")?.toLowerCase()).toContain("authorization");
  });

  it.each([
    ["public, max-age=600", "private, max-age=600"],
    ["PUBLIC,max-age=600, s-maxage=900", "private, max-age=600"],
    ["max-age=60", "private, max-age=60"],
    ["no-store", "no-store"],
    ["public, no-store", "no-store"],
    ["private, max-age=5", "private, max-age=5"],
  ])("never lets an authenticated answer be public: %s -> %s", async (sent, expected) => {
    const res = await authed(`/v1/fixture/cacheable?cc=${encodeURIComponent(sent)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe(expected);
    const vary = (res.headers.get("vary") ?? "").toLowerCase();
    expect(vary).toContain("accept-encoding");
    if (expected.includes("no-store")) expect(vary).not.toContain("authorization");
    else expect(vary).toContain("authorization");
  });

  it("replays an idempotent answer with the same policy", async () => {
    const key = crypto.randomUUID();
    const first = await authed("/v1/fixture/cacheable?cc=public", json("POST", {}, { "idempotency-key": key }));
    const again = await authed("/v1/fixture/cacheable?cc=public", json("POST", {}, { "idempotency-key": key }));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("cache-control")).toBe("private");
    expect(again.headers.get("cache-control")).toBe("private");
  });

  it("leaves the public documents alone", async () => {
    expect((await call("/openapi.json")).headers.get("cache-control")).toBe("public, max-age=30");
    expect((await call("/.well-known/jwks.json")).headers.get("cache-control")).toBe("public, max-age=300");
  });
});
