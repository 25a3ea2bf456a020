import { describe, expect, it } from "vitest";
import { anon, api, expectApiError, expectProblem, passwordToken, sdk, unique } from "./helpers";

// Every answer below also goes through the API-document check of helpers.ts (checkedFetch), the
// SDK's calls included (sdk(token): no retries, so a 429 is seen as the platform sent it).

const PASSWORD = "a long enough password";

async function registerOrg(name: string) {
  const email = `${unique("gw")}@e2e.example`;
  const res = await anon("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, name: "Owner", organization_name: name }),
  });
  expect(res.status).toBe(201);
  return passwordToken(email, PASSWORD);
}

async function member(admin: string, roles: string[]) {
  const email = `${unique("gw-member")}@e2e.example`;
  const res = await api("/v1/users", {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ email, name: "M", password: PASSWORD, roles }),
  });
  expect(res.status).toBe(201);
  return passwordToken(email, PASSWORD);
}

const as = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
});
const jsonBody = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("the gateway's own answers, as the API document describes them", () => {
  it("401, 403, 400, 404, 405, 413, 415 and 422 from the gateway itself", async () => {
    const admin = await registerOrg("Gateway answers");
    const viewer = await member(admin, ["viewer"]);
    const cases: [number, string, RequestInit][] = [
      [401, "/v1/auth/me", {}],
      [401, "/v1/auth/me", { headers: { authorization: "Bearer not.a.token" } }],
      [401, "/v1/crm/contacts", {}],
      [401, "/v1/crm/openapi.json", {}],
      [403, "/v1/crm/contacts", as(viewer, jsonBody("POST", { first_name: "A", last_name: "B" }))],
      [403, "/v1/users", as(viewer)],
      [415, "/v1/organizations/current", as(admin, { method: "PATCH", headers: { "content-type": "text/plain" }, body: "x" })],
      [400, "/v1/organizations/current", as(admin, jsonBody("PATCH", "{"))],
      [413, "/v1/organizations/current", as(admin, jsonBody("PATCH", { name: "x".repeat(20_000) }))],
      [422, "/v1/organizations/current", as(admin, jsonBody("PATCH", { unknown: 1 }))],
      [404, `/v1/users/${crypto.randomUUID()}`, as(admin)],
      [422, "/v1/users/not-a-uuid", as(admin)],
      [400, "/v1/crm/contacts", as(admin, jsonBody("POST", { first_name: "A" }, { "idempotency-key": "has spaces" }))],
      [413, "/v1/crm/contacts", as(admin, jsonBody("POST", { first_name: "x".repeat(1_100_000) }))],
      [405, "/v1/auth/me", as(admin, { method: "DELETE" })],
      [404, "/v1/nope/things", as(admin)],
    ];
    for (const [status, path, init] of cases) await expectProblem(await anon(path, init), status);
    // WWW-Authenticate on every 401, as documented (required there).
    expect((await anon("/v1/crm/contacts")).headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
  });

  it("the token endpoint: OAuth errors, and the account's 429 in OAuth's format", async () => {
    const token = (body: string, headers: Record<string, string> = {}) =>
      anon("/v1/auth/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
    const unsupported = await token("grant_type=nope");
    expect(unsupported.status).toBe(400);
    expect(await unsupported.json()).toMatchObject({ error: "unsupported_grant_type" });
    const badClient = await token("grant_type=client_credentials", { authorization: `Basic ${btoa("nobody:wrong")}` });
    expect(badClient.status).toBe(401);
    await badClient.arrayBuffer();
    const email = `${unique("throttled")}@e2e.example`;
    let last: Response | undefined;
    for (let i = 0; i < 8 && last?.status !== 429; i++) {
      last = await token(new URLSearchParams({ grant_type: "password", username: email, password: "wrong password!" }).toString());
      if (last.status !== 429) await last.arrayBuffer();
    }
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await last!.json()).toMatchObject({ error: expect.any(String) });
  });

  it("HEAD, the services list without a token, and the documents themselves", async () => {
    const head = await api("/v1/crm/contacts?limit=1", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect((await anon("/v1/services")).status).toBe(200);
    expect((await anon("/openapi.json")).status).toBe(200);
    expect((await api("/v1/appointments/openapi.json")).status).toBe(200);
  });
});

describe("security over HTTP", () => {
  it("keeps Idempotency-Keys per caller: two users, one key, one body, two executions", async () => {
    const admin = await registerOrg("Idempotency per caller");
    const editor = await member(admin, ["editor"]);
    const key = unique("shared-key");
    const body = { name: `Company ${key}` };
    const headers = { "Idempotency-Key": key };
    const mine = await sdk(admin).withResponse.POST("/v1/crm/companies", { body, headers });
    const theirs = await sdk(editor).withResponse.POST("/v1/crm/companies", { body, headers });
    expect([mine.response.status, theirs.response.status]).toEqual([201, 201]);
    expect(theirs.response.headers.get("idempotent-replayed")).toBeNull();
    expect(mine.data.id).not.toBe(theirs.data.id);
  });

  it("answers Cache-Control: private on every /v1 answer, and keeps a download revalidatable per token", async () => {
    const list = await api("/v1/crm/contacts?limit=1");
    expect(list.headers.get("cache-control")).toBe("private, no-store");
    await list.arrayBuffer();
    const missing = await api(`/v1/crm/contacts/${crypto.randomUUID()}`);
    expect(missing.headers.get("cache-control")).toBe("private, no-store");
    await expectProblem(missing, 404);
    const up = await api("/v1/documents/files?name=cache.bin", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "bytes" });
    const { id } = (await up.json()) as { id: string };
    const download = await api(`/v1/documents/files/${id}/content`);
    expect(download.headers.get("cache-control")).toBe("private, no-cache");
    expect(download.headers.get("vary")?.toLowerCase()).toContain("authorization");
    expect(await download.text()).toBe("bytes");
  });

  it("counts new versions against the uploads policy (60 per minute per user, as configured)", async () => {
    const admin = await registerOrg("Uploads");
    const up = await api("/v1/documents/files?name=v.bin", as(admin, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "v1" }));
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    const counts: Record<number, number> = {};
    let refused: Response | undefined;
    // In batches, to stay inside the limiter's deadline on a loaded machine (uploads fail closed).
    // The allowance refills by one a second meanwhile, so the count is bounded, not exact here
    // (exactness under concurrency is tested inside workerd).
    for (let batch = 0; batch < 7; batch++) {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          api(
            `/v1/documents/files/${id}/content`,
            as(admin, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: `v${batch}-${i}` }),
          ),
        ),
      );
      for (const r of results) {
        counts[r.status] = (counts[r.status] ?? 0) + 1;
        expect(r.headers.get("ratelimit-policy")).toContain('"route-uploads";q=60;w=60');
        if (r.status === 429) refused ??= r;
        else await r.arrayBuffer();
      }
    }
    expect(Object.keys(counts).sort()).toEqual(["200", "429"]);
    expect(counts[200]).toBeGreaterThanOrEqual(59);
    const problem = await expectProblem(refused!, 429);
    expect(problem.exceeded).toEqual(["route-uploads"]);
  });

  it("lets an admin undo a limit of 1 per day at once", async () => {
    const admin = sdk(await registerOrg("Undo"));
    const patch = (rate_limits: { user: { limit: number; window_seconds: number } }) => admin.PATCH("/v1/organizations/current", { body: { rate_limits } });
    const list = () => admin.withResponse.GET("/v1/crm/contacts", { params: { query: { limit: 1 } } });
    await patch({ user: { limit: 1, window_seconds: 86_400 } });
    await list();
    const locked = await expectApiError(list(), 429);
    expect(locked.problem.exceeded).toEqual(["user"]);
    await patch({ user: { limit: 600, window_seconds: 60 } });
    expect((await list()).response.headers.get("ratelimit")).toMatch(/"user";r=599;/);
  });
});
