import { beforeAll, describe, expect, it } from "vitest";
import { anon, api, expectProblem, passwordToken, unique } from "./helpers";

const PASSWORD = "a long enough password";

async function registerOrg(name: string) {
  const email = `${unique("limits")}@e2e.example`;
  const res = await anon("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, name: "Owner", organization_name: name }),
  });
  expect(res.status).toBe(201);
  return passwordToken(email, PASSWORD);
}

const as = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
});

function counts(responses: Response[]) {
  const out: Record<number, number> = {};
  for (const r of responses) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

async function member(adminToken: string, roles = ["editor"]) {
  const email = `${unique("member")}@e2e.example`;
  const res = await api(
    "/v1/users",
    as(adminToken, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, name: "M", password: PASSWORD, roles }) }),
  );
  expect(res.status).toBe(201);
  return passwordToken(email, PASSWORD);
}

async function setLimits(adminToken: string, rate_limits: unknown) {
  const res = await api(
    "/v1/organizations/current",
    as(adminToken, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ rate_limits }) }),
  );
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("rate limits over HTTP", () => {
  let admin: string;
  beforeAll(async () => {
    admin = await registerOrg("Limits over HTTP");
  });

  it("admits exactly N of 3N simultaneous calls per user, with RateLimit headers and 429 problems", async () => {
    const user = await member(admin);
    await setLimits(admin, { user: { limit: 6, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 18 }, () => api("/v1/crm/contacts?limit=1", as(user))));
    expect(counts(results)).toEqual({ 200: 6, 429: 12 });
    const ok = results.find((r) => r.status === 200)!;
    expect(ok.headers.get("ratelimit-policy")).toContain('"user";q=6;w=60');
    expect(ok.headers.get("ratelimit")).toMatch(/"user";r=\d+;t=\d+/);
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectProblem(refused, 429);
    await Promise.all(results.map((r) => r.arrayBuffer().catch(() => undefined)));
  });

  it("holds all of an organization's users to its total", async () => {
    const admin2 = await registerOrg("Org total over HTTP");
    const [u1, u2] = [await member(admin2), await member(admin2)];
    await setLimits(admin2, { organization: { limit: 10, window_seconds: 60 } });
    const results = await Promise.all([
      ...Array.from({ length: 15 }, () => api("/v1/crm/contacts?limit=1", as(u1))),
      ...Array.from({ length: 15 }, () => api("/v1/crm/contacts?limit=1", as(u2))),
    ]);
    expect(counts(results)).toEqual({ 200: 10, 429: 20 });
    await Promise.all(results.map((r) => r.arrayBuffer().catch(() => undefined)));
  });

  it("limits an API client on its own", async () => {
    const admin3 = await registerOrg("Client over HTTP");
    const created = await api(
      "/v1/clients",
      as(admin3, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "m", roles: ["viewer"] }) }),
    );
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };
    await setLimits(admin3, { client: { limit: 4, window_seconds: 60 } });
    const tokenRes = await anon("/v1/auth/token", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString("base64")}`,
      },
      body: "grant_type=client_credentials",
    });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const results = await Promise.all(Array.from({ length: 12 }, () => api("/v1/crm/contacts?limit=1", as(access_token))));
    expect(counts(results)).toEqual({ 200: 4, 429: 8 });
    await Promise.all(results.map((r) => r.arrayBuffer().catch(() => undefined)));
  });
});

describe("idempotency keys over HTTP", () => {
  it("replays a retried POST, refuses the key with another body (422), and runs a burst of duplicates once", async () => {
    const key = unique("idem");
    const body = JSON.stringify({ first_name: "Ida", last_name: "Key", email: `${key}@e2e.example` });
    const send = (b = body) => api("/v1/crm/contacts", { method: "POST", headers: { "content-type": "application/json", "idempotency-key": key }, body: b });
    const first = await send();
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string };
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retry.json()) as { id: string }).id).toBe(created.id);
    await expectProblem(await send(JSON.stringify({ first_name: "Other", last_name: "Body", email: `${key}-2@e2e.example` })), 422);

    // Ten copies at once with a fresh key: the service runs exactly one of them.
    const burstKey = unique("burst");
    const burstBody = JSON.stringify({ first_name: "Burst", last_name: "Once", email: `${burstKey}@e2e.example` });
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        api("/v1/crm/contacts", { method: "POST", headers: { "content-type": "application/json", "idempotency-key": burstKey }, body: burstBody }),
      ),
    );
    const ran = burst.filter((r) => r.status === 201 && r.headers.get("idempotent-replayed") === null);
    expect(ran).toHaveLength(1);
    for (const r of burst) expect([201, 409]).toContain(r.status);
    await Promise.all(burst.map((r) => r.arrayBuffer()));
    const list = (await (await api(`/v1/crm/contacts?q=${burstKey}&limit=100`)).json()) as { data: { email: string }[] };
    expect(list.data.filter((c) => c.email === `${burstKey}@e2e.example`)).toHaveLength(1);
  });
});
