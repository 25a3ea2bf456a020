import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { clientIp, ipLimitKey } from "../src/http/client-ip";
import { RateLimitConfigSchema } from "../src/limits/policies";
import { PASSWORD, bearer, call, form, json, login, expectProblem, registerOrganization, type Account } from "./helpers";

async function member(admin: Account, roles: string[] = ["editor"]) {
  const email = `m-${crypto.randomUUID()}@example.com`;
  const res = await call("/v1/users", bearer(admin.access_token, json("POST", { email, name: "Member", password: PASSWORD, roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await login(email)).access_token;
}

async function setLimits(admin: Account, rate_limits: unknown) {
  const res = await call("/v1/organizations/current", bearer(admin.access_token, json("PATCH", { rate_limits })));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<any>();
}

function statuses(responses: Response[]) {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

describe("exact admission under concurrency, per scope", () => {
  it("per user: 3N requests at once admit exactly N", async () => {
    const admin = await registerOrganization("RL user");
    const token = await member(admin);
    await setLimits(admin, { user: { limit: 5, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 15 }, () => call("/v1/crm/contacts?limit=1", bearer(token))));
    expect(statuses(results)).toEqual({ 200: 5, 429: 10 });
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = await expectProblem(refused);
    expect(body.detail).toContain("user");
    const ok = results.find((r) => r.status === 200)!;
    expect(ok.headers.get("ratelimit-policy")).toContain('"user";q=5;w=60');
    expect(ok.headers.get("ratelimit")).toMatch(/"user";r=\d+;t=\d+/);
    // Another user of the same organization is not affected by this one's limit.
    const other = await member(admin);
    expect((await call("/v1/crm/contacts?limit=1", bearer(other))).status).toBe(200);
  });

  it("per organization: all of its users together are held to the total", async () => {
    const admin = await registerOrganization("RL org");
    const [t1, t2] = [await member(admin), await member(admin)];
    await setLimits(admin, { organization: { limit: 8, window_seconds: 60 } });
    const results = await Promise.all([
      ...Array.from({ length: 12 }, () => call("/v1/crm/contacts?limit=1", bearer(t1))),
      ...Array.from({ length: 12 }, () => call("/v1/crm/contacts?limit=1", bearer(t2))),
    ]);
    expect(statuses(results)).toEqual({ 200: 8, 429: 16 });
    // Another organization is untouched.
    const elsewhere = await registerOrganization("RL elsewhere");
    expect((await call("/v1/crm/contacts?limit=1", bearer(elsewhere.access_token))).status).toBe(200);
  });

  it("per API client", async () => {
    const admin = await registerOrganization("RL client");
    const created = await (await call("/v1/clients", bearer(admin.access_token, json("POST", { name: "machine", roles: ["viewer"] })))).json<any>();
    await setLimits(admin, { client: { limit: 4, window_seconds: 60 } });
    const tokenRes = await call(
      "/v1/auth/token",
      form({ grant_type: "client_credentials", client_id: created.client_id, client_secret: created.client_secret }),
    );
    const { access_token } = await tokenRes.json<any>();
    const results = await Promise.all(Array.from({ length: 12 }, () => call("/v1/crm/contacts?limit=1", bearer(access_token))));
    expect(statuses(results)).toEqual({ 200: 4, 429: 8 });
    expect(results.find((r) => r.status === 200)!.headers.get("ratelimit-policy")).toContain('"client";q=4;w=60');
  });

  it("per IP address for unauthenticated calls", async () => {
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const results = await Promise.all(Array.from({ length: 15 }, () => call("/v1/services", { headers: { "cf-connecting-ip": ip } })));
    expect(statuses(results)).toEqual({ 200: 5, 429: 10 });
    expect(results.find((r) => r.status === 200)!.headers.get("ratelimit-policy")).toContain('"route-probe";q=5;w=60');
    // Another address has its own allowance.
    expect((await call("/v1/services", { headers: { "cf-connecting-ip": "198.51.100.9" } })).status).toBe(200);
  });

  it("per route: a route's own policy applies on top of the others", async () => {
    const admin = await registerOrganization("RL route");
    const token = await member(admin);
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) => call("/v1/appointments/calendars", bearer(token, json("POST", { name: `Cal ${i}`, time_zone: "Europe/Rome" })))),
    );
    expect(statuses(results)).toEqual({ 201: 3, 429: 6 });
    const list = await (await call("/v1/appointments/calendars?limit=100", bearer(token))).json<any>();
    expect(list.data).toHaveLength(3);
    // Reads of the same path are not under the write policy.
    expect((await call("/v1/appointments/calendars", bearer(token))).status).toBe(200);
  });
});

describe("headers and policy settings", () => {
  let admin: Account;
  beforeAll(async () => {
    admin = await registerOrganization("RL headers");
  });

  it("sends RateLimit-Policy and RateLimit as structured fields on every limited response", async () => {
    const res = await call("/v1/crm/contacts", bearer(admin.access_token));
    const policy = res.headers.get("ratelimit-policy")!;
    expect(policy).toMatch(/^"user";q=1000;w=60, "organization";q=5000;w=60$/);
    const now = res.headers.get("ratelimit")!;
    const remaining = /"user";r=(\d+);t=(\d+)/.exec(now)!;
    expect(Number(remaining[1])).toBeLessThan(1000);
  });

  it("keeps a hidden policy's numbers out of the headers", async () => {
    const res = await call("/v1/auth/me", bearer(admin.access_token));
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toContain('"user"');
    expect(res.headers.get("ratelimit-policy")).not.toContain("secret-me");
    expect(res.headers.get("ratelimit")).not.toContain("secret-me");
  });

  it("lets an admin change the organization's limits within the platform maximums only", async () => {
    const body = await setLimits(admin, { user: { limit: 1500, window_seconds: 60 } });
    expect(body.rate_limits.user).toEqual({ limit: 1500, window_seconds: 60 });
    expect(body.rate_limits.organization).toEqual({ limit: 5000, window_seconds: 60 });
    const tooMuch = await call(
      "/v1/organizations/current",
      bearer(admin.access_token, json("PATCH", { rate_limits: { user: { limit: 2001, window_seconds: 60 } } })),
    );
    expect(tooMuch.status).toBe(422);
    expect((await expectProblem(tooMuch)).errors[0].path).toBe("rate_limits.user");
    // The same burst in a shorter window is a higher rate: also refused.
    const faster = await call(
      "/v1/organizations/current",
      bearer(admin.access_token, json("PATCH", { rate_limits: { user: { limit: 2000, window_seconds: 30 } } })),
    );
    expect(faster.status).toBe(422);
    const current = await (await call("/v1/organizations/current", bearer(admin.access_token))).json<any>();
    expect(current.rate_limits.user).toEqual({ limit: 1500, window_seconds: 60 });
    const viewer = await member(admin, ["viewer"]);
    expect((await call("/v1/organizations/current", bearer(viewer, json("PATCH", { rate_limits: { user: { limit: 10, window_seconds: 60 } } })))).status).toBe(
      403,
    );
  });

  it("answers preflights without counting or limiting them", async () => {
    const res = await call("/v1/services", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("ratelimit")).toBeNull();
  });
});

describe("route policies match a route however its path is spelled", () => {
  const put = (token: string, path: string, body: string) => call(path, bearer(token, { method: "PUT", headers: { "content-type": "text/plain" }, body }));

  it("counts every upload path (a new file and a new version of one) against the uploads policy", async () => {
    const admin = await registerOrganization("RL uploads");
    const token = await member(admin);
    const up = await call("/v1/documents/files?name=a.txt", bearer(token, { method: "POST", headers: { "content-type": "text/plain" }, body: "v1" }));
    expect(up.status).toBe(201);
    const limit = 60; // the uploads policy in vitest.config.ts
    expect(up.headers.get("ratelimit-policy")).toContain(`"route-uploads";q=${limit};w=3600`);
    const { id } = await up.json<any>();
    // Spellings the documents service routes to the same upload: each must count.
    const spellings = [`/v1/documents/files/${id}/content`, `/v1/documents/files/${id}/%63ontent`, `/v1/documents/files/${id}/%63%6F%6E%74%65%6E%74`];
    const results = await Promise.all(Array.from({ length: limit - 1 + 6 }, (_, i) => put(token, spellings[i % 3]!, `v${i + 2}`)));
    expect(statuses(results)).toEqual({ 200: limit - 1, 429: 6 });
    const versions = await (await call(`/v1/documents/files/${id}/versions?limit=100`, bearer(token))).json<any>();
    expect(versions.data).toHaveLength(limit);
    // Spellings the service would not route are counted too: none gets past the policy.
    for (const path of [
      `/v1/documents/files/${id}/content/`,
      `/v1/documents//files/${id}/content`,
      `/v1/documents/files//${id}/content`,
      `/v1/documents/FILES/${id}/Content`,
      `/v1/documents/files/${id}/content?name=x`,
    ]) {
      expect((await put(token, path, "again")).status, path).toBe(429);
    }
    // A read of the same path is no upload.
    expect((await call(`/v1/documents/files/${id}/content`, bearer(token))).status).toBe(200);
  });

  it("a policy on GET covers HEAD; one on one path does not spill onto a longer one", async () => {
    const admin = await registerOrganization("RL patterns");
    const token = await member(admin);
    const head = await call("/v1/fixture/strict", bearer(token, { method: "HEAD" }));
    expect(head.headers.get("ratelimit-policy")).toContain('"route-strict-reads"');
    const below = await call("/v1/fixture/strict/below", bearer(token));
    expect(below.headers.get("ratelimit-policy")).not.toContain("route-strict-reads");
  });
});

describe("route policy settings are checked when the configuration is read", () => {
  const base = {
    user: { limit: 1, window_seconds: 60 },
    client: { limit: 1, window_seconds: 60 },
    organization: { limit: 1, window_seconds: 60 },
    ip: { limit: 1, window_seconds: 60 },
    max: { user: { limit: 1, window_seconds: 60 }, client: { limit: 1, window_seconds: 60 }, organization: { limit: 1, window_seconds: 60 } },
  };
  const route = { name: "r", path: "/v1/x", scope: "user", limit: 1, window_seconds: 60 };
  const parse = (routes: unknown[]) => RateLimitConfigSchema.safeParse({ ...base, routes });

  it("takes one method or a list, one pattern or a list", () => {
    const ok = parse([{ ...route, method: ["post", " Put "], path: ["/v1/a/{id}/b", "/v1/c/*", "/v1/d/**"] }]);
    expect(ok.success).toBe(true);
    expect(ok.data!.routes[0]!.method).toEqual(["POST", "PUT"]);
  });

  it.each([
    ["an empty segment", [{ ...route, path: "/v1//x" }]],
    ["** before the end", [{ ...route, path: "/v1/**/x" }]],
    ["a relative path", [{ ...route, path: "v1/x" }]],
    ["two policies of one name (they would share a state)", [route, { ...route, path: "/v1/y" }]],
    ["an exclusive policy that would not count every caller", [{ ...route, exclusive: true }]],
  ])("refuses %s", (_, routes) => {
    expect(parse(routes).success).toBe(false);
  });
});

describe("the client IP address comes from the configured header only", () => {
  const ip = (headers: Record<string, string>, name: string | undefined) => ipLimitKey(clientIp(new Headers(headers), name));

  it("reads the named header (any case), the last entry of a list, and refuses what is not an address", () => {
    expect(ip({ "cf-connecting-ip": "203.0.113.7" }, "CF-Connecting-IP")).toBe("203.0.113.7");
    expect(ip({ "CF-CONNECTING-IP": " 203.0.113.7 " }, " cf-connecting-ip ")).toBe("203.0.113.7");
    expect(ip({ "x-forwarded-for": "198.51.100.1, 10.0.0.1,203.0.113.9" }, "X-Forwarded-For")).toBe("203.0.113.9");
    expect(ip({ "cf-connecting-ip": "203.0.113.7" }, "")).toBe("unknown");
    expect(ip({ "cf-connecting-ip": "203.0.113.7" }, undefined)).toBe("unknown");
    expect(ip({ "cf-connecting-ip": "203.0.113.7" }, "X-Real-IP")).toBe("unknown");
    for (const junk of ["", "not-an-ip", "203.0.113.256", "203.0.113", "1.2.3.4.5", "::1::2", "2001:db8::g", "1:2:3:4:5:6:7:8:9"]) {
      expect(ip({ "x-real-ip": junk }, "X-Real-IP"), junk).toBe("unknown");
    }
    // Leading zeros are one address, not many.
    expect(ip({ "x-real-ip": "203.0.113.007" }, "X-Real-IP")).toBe("203.0.113.7");
  });

  it("counts IPv6 callers by their /64, however the address is written", () => {
    const key = "2001:db8:0:1::/64";
    for (const v6 of ["2001:db8:0:1::1", "2001:DB8:0:1:ffff:ffff:ffff:ffff", "[2001:db8::1:0:0:0:7]", "2001:0db8:0000:0001::9%eth0"]) {
      expect(ip({ "x-real-ip": v6 }, "X-Real-IP"), v6).toBe(key);
    }
    expect(ip({ "x-real-ip": "2001:db8:0:2::1" }, "X-Real-IP")).not.toBe(key);
    // An IPv4-mapped address is its IPv4 caller, not one /64 shared by every IPv4 caller.
    expect(ip({ "x-real-ip": "::ffff:203.0.113.7" }, "X-Real-IP")).toBe("203.0.113.7");
    expect(ip({ "x-real-ip": "::FFFF:cb00:7107" }, "X-Real-IP")).toBe("203.0.113.7");
  });

  it("behind another proxy, a spoofed CF-Connecting-IP buys no fresh allowance", async () => {
    const before = env.CLIENT_IP_HEADER;
    env.CLIENT_IP_HEADER = "X-Real-IP";
    try {
      const real = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
      const results = await Promise.all(
        Array.from({ length: 15 }, (_, i) => call("/v1/services", { headers: { "x-real-ip": real, "cf-connecting-ip": `203.0.113.${i + 1}` } })),
      );
      expect(statuses(results)).toEqual({ 200: 5, 429: 10 });
      // With no header trusted at all, inventing addresses does not help either.
      env.CLIENT_IP_HEADER = "";
      const anonymous = await Promise.all(
        Array.from({ length: 15 }, (_, i) => call("/v1/services", { headers: { "cf-connecting-ip": `192.0.2.${i + 1}`, "x-real-ip": `192.0.2.${i + 1}` } })),
      );
      expect(anonymous.filter((r) => r.status === 200).length).toBeLessThanOrEqual(5);
    } finally {
      env.CLIENT_IP_HEADER = before;
    }
  });
});

describe("changing limits", () => {
  const contacts = (token: string) => call("/v1/crm/contacts?limit=1", bearer(token));
  const settings = (token: string) => call("/v1/organizations/current", bearer(token));

  it("a mistaken limit can be undone by its admin, and a changed limit starts from a fresh state", async () => {
    const admin = await registerOrganization("RL undo");
    await setLimits(admin, { user: { limit: 1, window_seconds: 86_400 } });
    expect((await contacts(admin.access_token)).status).toBe(200);
    const locked = await contacts(admin.access_token);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(86_000);
    // The settings stay reachable, to read and to undo the mistake.
    expect((await settings(admin.access_token)).status).toBe(200);
    await setLimits(admin, { user: { limit: 1000, window_seconds: 60 } });
    const after = await contacts(admin.access_token);
    expect(after.status, await after.clone().text()).toBe(200);
    expect(after.headers.get("ratelimit")).toMatch(/"user";r=999;t=\d+/);
    // Every change starts fresh, so the exact count holds right after one.
    await setLimits(admin, { user: { limit: 5, window_seconds: 60 } });
    expect(statuses(await Promise.all(Array.from({ length: 15 }, () => contacts(admin.access_token))))).toEqual({ 200: 5, 429: 10 });
  });

  it("undoes an organization total of 1 per day the same way", async () => {
    const admin = await registerOrganization("RL undo org");
    const editor = await member(admin);
    await setLimits(admin, { organization: { limit: 1, window_seconds: 86_400 } });
    expect((await contacts(editor)).status).toBe(200);
    expect((await contacts(editor)).status).toBe(429);
    await setLimits(admin, { organization: { limit: 5000, window_seconds: 60 } });
    expect((await contacts(editor)).status).toBe(200);
    expect((await contacts(admin.access_token)).status).toBe(200);
  });

  it("gives the settings route its own allowance per caller: 3N at once admit exactly N, whatever the organization's limits", async () => {
    const admin = await registerOrganization("RL settings");
    await setLimits(admin, { organization: { limit: 1, window_seconds: 86_400 }, user: { limit: 1, window_seconds: 86_400 } });
    const other = await member(admin, ["admin"]);
    const results = await Promise.all(Array.from({ length: 60 }, () => settings(other)));
    expect(statuses(results)).toEqual({ 200: 20, 429: 40 });
    const refused = await expectProblem(results.find((r) => r.status === 429)!);
    expect(refused.exceeded).toEqual(["route-organization-settings"]);
    // It is its own allowance, not the organization's: the first admin still has all of theirs.
    expect((await settings(admin.access_token)).headers.get("ratelimit-policy")).toBe('"route-organization-settings";q=20;w=60');
  });
});

describe("a 429 names only the policies the request exceeded", () => {
  it("the user's limit, not the organization's", async () => {
    const admin = await registerOrganization("RL names user");
    const editor = await member(admin);
    await setLimits(admin, { user: { limit: 2, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 6 }, () => call("/v1/crm/contacts?limit=1", bearer(editor))));
    const refused = results.find((r) => r.status === 429)!;
    const body = await expectProblem(refused);
    expect(body.exceeded).toEqual(["user"]);
    expect(body.detail).toContain("(user)");
    expect(body.detail).not.toContain("organization");
    // The headers tell the same story: nothing left of the user's, the organization's untouched by the refusal.
    const r = refused.headers.get("ratelimit")!;
    expect(r).toMatch(/"user";r=0;/);
    expect(Number(/"organization";r=(\d+);/.exec(r)![1])).toBeGreaterThan(4000);
  });

  it("the organization's total, not the user's", async () => {
    const admin = await registerOrganization("RL names org");
    const editor = await member(admin);
    await setLimits(admin, { organization: { limit: 3, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 9 }, () => call("/v1/crm/contacts?limit=1", bearer(editor))));
    const body = await expectProblem(results.find((r) => r.status === 429)!);
    expect(body.exceeded).toEqual(["organization"]);
    expect(body.detail).not.toMatch(/\buser\b/);
  });

  it("a route's policy alone", async () => {
    const admin = await registerOrganization("RL names route");
    const editor = await member(admin);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call("/v1/appointments/calendars", bearer(editor, json("POST", { name: `C${i}`, time_zone: "UTC" })))),
    );
    const body = await expectProblem(results.find((r) => r.status === 429)!);
    expect(body.exceeded).toEqual(["route-calendar-writes"]);
  });
});
