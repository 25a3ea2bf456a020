// Calls go through the SDK (typed from /openapi.json); raw requests remain only for the oversized
// bodies sent over a real socket on purpose (node:http).
import { request as httpRequest } from "node:http";
import { ApiError, type Client, createClient, type Schema } from "@buildly/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, checkedFetch, expectApiError, passwordToken, registerOrg as register, sdk, unique } from "./helpers";

const PASSWORD = "a long enough password";

const registerOrg = async (name: string) => (await register(name, PASSWORD, "limits")).token;

/** What a call got: its response, and the ApiError when it was not a 2xx. */
interface Outcome {
  status: number;
  response: Response;
  error?: ApiError;
}

async function settle(call: Promise<{ response: Response }>): Promise<Outcome> {
  try {
    const { response } = await call;
    return { status: response.status, response };
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, response: err.response, error: err };
    throw err;
  }
}

function counts(outcomes: Outcome[]) {
  const out: Record<number, number> = {};
  for (const r of outcomes) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

/** Asserts a refusal is a 429 with the platform's problem fields. */
const expect429 = (o: Outcome) => expectApiError(o.error ? Promise.reject(o.error) : Promise.resolve(o.status), 429);

const contacts = (client: Client) => settle(client.withResponse.GET("/v1/crm/contacts", { params: { query: { limit: 1 } } }));

async function member(adminToken: string, roles = ["editor"]) {
  const email = `${unique("member")}@e2e.example`;
  const { response } = await sdk(adminToken).withResponse.POST("/v1/users", { body: { email, name: "M", password: PASSWORD, roles } });
  expect(response.status).toBe(201);
  return passwordToken(email, PASSWORD);
}

async function setLimits(adminToken: string, rate_limits: Schema<"OrganizationUpdate">["rate_limits"]) {
  const { data, response } = await sdk(adminToken).withResponse.PATCH("/v1/organizations/current", { body: { rate_limits } });
  expect(response.status, JSON.stringify(data)).toBe(200);
}

describe("rate limits over HTTP", () => {
  let admin: string;
  beforeAll(async () => {
    admin = await registerOrg("Limits over HTTP");
  });

  it("admits exactly N of 3N simultaneous calls per user, with RateLimit headers and 429 problems", async () => {
    const user = sdk(await member(admin));
    await setLimits(admin, { user: { limit: 6, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 18 }, () => contacts(user)));
    expect(counts(results)).toEqual({ 200: 6, 429: 12 });
    const ok = results.find((r) => r.status === 200)!.response;
    expect(ok.headers.get("ratelimit-policy")).toContain('"user";q=6;w=60');
    expect(ok.headers.get("ratelimit")).toMatch(/"user";r=\d+;t=\d+/);
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.response.headers.get("retry-after"))).toBeGreaterThan(0);
    await expect429(refused);
  });

  it("holds all of an organization's users to its total", async () => {
    const admin2 = await registerOrg("Org total over HTTP");
    const [u1, u2] = [sdk(await member(admin2)), sdk(await member(admin2))];
    await setLimits(admin2, { organization: { limit: 10, window_seconds: 60 } });
    const results = await Promise.all([...Array.from({ length: 15 }, () => contacts(u1)), ...Array.from({ length: 15 }, () => contacts(u2))]);
    expect(counts(results)).toEqual({ 200: 10, 429: 20 });
  });

  it("limits an API client on its own", async () => {
    const admin3 = await registerOrg("Client over HTTP");
    const { client_id, client_secret } = await sdk(admin3).POST("/v1/clients", { body: { name: "m", roles: ["viewer"] } });
    // A confidential client (the default) is given its secret once.
    if (!client_secret) throw new Error("a confidential client comes with its secret");
    await setLimits(admin3, { client: { limit: 4, window_seconds: 60 } });
    const machine = createClient({
      baseUrl: baseUrl(),
      auth: { type: "clientCredentials", clientId: client_id, clientSecret: client_secret },
      fetch: checkedFetch,
      retries: 0,
    });
    // The token first, so that the burst is the client's calls alone.
    expect(await machine.accessToken()).toMatch(/\S/);
    const results = await Promise.all(Array.from({ length: 12 }, () => contacts(machine)));
    expect(counts(results)).toEqual({ 200: 4, 429: 8 });
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

  async function burst(n: number, user: Client) {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: n }, () => settle(user.withResponse.GET("/v1/auth/me"))));
    const elapsed = Date.now() - started;
    const c = counts(results);
    expect((c[200] ?? 0) + (c[429] ?? 0), JSON.stringify(c)).toBe(n);
    return { results, admitted: c[200] ?? 0, elapsed };
  }

  it("admits N of 3N at once against a fresh key (plus what came back), and each 429 agrees on when to retry", async () => {
    const user = sdk(await member(admin));
    await setLimits(admin, { user: { limit: 150, window_seconds: 60 } });
    const { results, admitted, elapsed } = await burst(450, user);
    expect(admitted).toBeGreaterThanOrEqual(150);
    expect(admitted).toBeLessThanOrEqual(150 + refill(150, elapsed));
    // Every refusal says the same thing three ways: Retry-After, its detail, and the policy's t.
    for (const refused of results.filter((r) => r.status === 429).slice(0, 20)) {
      const retryAfter = Number(refused.response.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(rateEntry(refused.response, "user")).toEqual({ r: 0, t: retryAfter });
      const err = await expect429(refused);
      expect(err.detail).toContain(`Retry in ${retryAfter} s`);
    }
  }, 300_000);

  it("admits what the last RateLimit header promised when the gateway already holds a lease", async () => {
    const user = sdk(await member(admin));
    await setLimits(admin, { user: { limit: 150, window_seconds: 60 } });
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = (await user.withResponse.GET("/v1/auth/me")).response;
      expect(last.status).toBe(200);
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
    const client = sdk();
    const key = unique("idem");
    const body = { first_name: "Ida", last_name: "Key", email: `${key}@e2e.example` };
    const send = (b = body) => client.withResponse.POST("/v1/crm/contacts", { body: b, headers: { "Idempotency-Key": key } });
    const first = await send();
    expect(first.response.status).toBe(201);
    const retry = await send();
    expect(retry.response.status).toBe(201);
    expect(retry.response.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.data.id).toBe(first.data.id);
    await expectApiError(send({ first_name: "Other", last_name: "Body", email: `${key}-2@e2e.example` }), 422);

    // Ten copies at once with a fresh key: the service runs exactly one of them.
    const burstKey = unique("burst");
    const burstBody = { first_name: "Burst", last_name: "Once", email: `${burstKey}@e2e.example` };
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => settle(client.withResponse.POST("/v1/crm/contacts", { body: burstBody, headers: { "Idempotency-Key": burstKey } }))),
    );
    const ran = burst.filter((r) => r.status === 201 && r.response.headers.get("idempotent-replayed") === null);
    expect(ran).toHaveLength(1);
    for (const r of burst) expect([201, 409]).toContain(r.status);
    const list = await client.GET("/v1/crm/contacts", { params: { query: { q: burstKey, limit: 100 } } });
    expect(list.data.filter((c) => c.email === `${burstKey}@e2e.example`)).toHaveLength(1);
  });
});
