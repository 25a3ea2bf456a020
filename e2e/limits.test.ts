import { beforeAll, describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { anon, api, baseUrl, expectProblem, passwordToken, unique } from "./helpers";

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

/** The policy's entry of a RateLimit header: remaining and reset. */
function rateEntry(res: Response, name: string) {
  const m = new RegExp(`"${name}";r=(\\d+);t=(\\d+)`).exec(res.headers.get("ratelimit") ?? "");
  expect(m, res.headers.get("ratelimit") ?? "no RateLimit header").not.toBeNull();
  return { r: Number(m![1]), t: Number(m![2]) };
}

/** Permits a limit per minute gives back in `ms`, rounded up. */
const refill = (limit: number, ms: number) => Math.ceil((ms * limit) / 60_000) + 1;

// Limits of 100 a minute and more are leased to the gateway's isolates (bench/README.md): a burst
// must still admit what the allowance has left (issue 17: 900 at once at 300 admitted 183 to 215;
// 150 a minute is leased one permit at a time, and 450 requests stay light on a loaded machine).
describe("bursts with leases over HTTP", () => {
  let admin: string;
  beforeAll(async () => {
    admin = await registerOrg("Bursts over HTTP");
  }, 120_000);

  async function burst(n: number, token: string) {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: n }, () => api("/v1/auth/me", as(token))));
    const elapsed = Date.now() - started;
    await Promise.all(results.filter((r) => r.status !== 429).map((r) => r.arrayBuffer()));
    const c = counts(results);
    expect((c[200] ?? 0) + (c[429] ?? 0), JSON.stringify(c)).toBe(n);
    return { results, admitted: c[200] ?? 0, elapsed };
  }

  it("admits N of 3N at once against a fresh key (plus what came back), and each 429 agrees on when to retry", async () => {
    const user = await member(admin);
    await setLimits(admin, { user: { limit: 150, window_seconds: 60 } });
    const { results, admitted, elapsed } = await burst(450, user);
    expect(admitted).toBeGreaterThanOrEqual(150);
    expect(admitted).toBeLessThanOrEqual(150 + refill(150, elapsed));
    // Every refusal says the same thing three ways: Retry-After, its detail, and the policy's t.
    for (const refused of results.filter((r) => r.status === 429).slice(0, 20)) {
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(rateEntry(refused, "user")).toEqual({ r: 0, t: retryAfter });
      const body = await expectProblem(refused, 429);
      expect(body.detail).toContain(`Retry in ${retryAfter} s`);
    }
    await Promise.all(results.map((r) => r.arrayBuffer().catch(() => undefined)));
  }, 300_000);

  it("admits what the last RateLimit header promised when the gateway already holds a lease", async () => {
    const user = await member(admin);
    await setLimits(admin, { user: { limit: 150, window_seconds: 60 } });
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await api("/v1/auth/me", as(user));
      expect(last.status).toBe(200);
      await last.arrayBuffer();
    }
    const promised = rateEntry(last!, "user").r;
    const since = Date.now();
    const { admitted } = await burst(450, user);
    expect(admitted).toBeGreaterThanOrEqual(promised);
    expect(admitted).toBeLessThanOrEqual(promised + refill(150, Date.now() - since));
  }, 300_000);
});

/**
 * A POST of `size` bytes over a real socket (node:http), with a Content-Length or chunked:
 * the status and body the client read, or the socket error it got instead.
 */
function postBig(path: string, size: number, chunked: boolean, headers: Record<string, string>) {
  return new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
    const url = new URL(path, baseUrl());
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      headers: chunked ? headers : { ...headers, "content-length": String(size) },
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", (e) => resolve({ error: String(e) }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? String(e) }));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

// Issue 17: a 20 MiB body to /v1/auth/token got a connection reset and no answer (2 MiB got its
// 413): the gateway cancelled the unread rest and the runtime reset the connection. Now every
// answer given before the body was read, 413 above all, reaches the client.
describe("oversized bodies over a real socket get an answer, not a reset", () => {
  const MiB20 = 20 * 1024 * 1024;
  let token: string;
  beforeAll(async () => {
    token = await registerOrg("Bodies over HTTP");
  }, 120_000);

  const cases: { name: string; path: string; type: string; auth: boolean; status: number }[] = [
    { name: "the token endpoint (16 KiB)", path: "/v1/auth/token", type: "application/x-www-form-urlencoded", auth: false, status: 413 },
    { name: "a gateway JSON route (16 KiB)", path: "/v1/auth/register", type: "application/json", auth: false, status: 413 },
    { name: "a proxied service route (the CRM's 1 MiB)", path: "/v1/crm/contacts", type: "application/json", auth: true, status: 413 },
    { name: "a route that refuses before reading (no token)", path: "/v1/crm/contacts", type: "application/json", auth: false, status: 401 },
  ];
  for (const c of cases) {
    for (const chunked of [false, true]) {
      it(`${c.name}, ${chunked ? "chunked" : "with Content-Length"}: ${c.status}`, async () => {
        const headers: Record<string, string> = { "content-type": c.type };
        if (c.auth) headers.authorization = `Bearer ${token}`;
        const res = await postBig(c.path, MiB20, chunked, headers);
        expect(res.error, "the client got no answer").toBeUndefined();
        expect(res.status).toBe(c.status);
        expect(res.body).toMatch(c.path === "/v1/auth/token" ? /"error":"invalid_request"/ : /"status":4\d\d/);
      }, 120_000);
    }
  }
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
