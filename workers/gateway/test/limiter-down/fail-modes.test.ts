import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, json, expectProblem, registerOrganization, type Account } from "../helpers";

// RATE_LIMITER is bound to a Durable Object whose every call fails (vitest.limiter-down.config.ts).
let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Limiter down");
});

describe("when the rate limiter cannot be reached", () => {
  it("lets reads through by default (fail open), without RateLimit headers", async () => {
    const res = await call("/v1/crm/contacts", bearer(admin.access_token));
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  it("refuses writes by default (fail closed) with 503, and changes nothing", async () => {
    const email = `down-${crypto.randomUUID()}@example.com`;
    const res = await call("/v1/crm/contacts", bearer(admin.access_token, json("POST", { first_name: "A", last_name: "B", email })));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    await expectProblem(res);
    const list = await (await call("/v1/crm/contacts?limit=100", bearer(admin.access_token))).json<any>();
    expect(list.data.some((c: any) => c.email === email)).toBe(false);
  });

  it("follows a policy's own on_error: a read under a fail-closed policy is refused", async () => {
    expect((await call("/v1/fixture/strict", bearer(admin.access_token))).status).toBe(503);
    // HEAD is a GET without a body: the GET policy covers it, in any spelling of the path.
    for (const path of ["/v1/fixture/strict", "/v1/fixture/Strict/", "/v1/fixture//strict"]) {
      expect((await call(path, bearer(admin.access_token, { method: "HEAD" }))).status, path).toBe(503);
    }
  });

  it("keeps anonymous calls under a fail-open IP policy working (registration and login did)", async () => {
    const res = await call("/v1/services", { headers: { "cf-connecting-ip": "192.0.2.44" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBeNull();
    expect(admin.access_token).toBeTruthy();
  });
});
