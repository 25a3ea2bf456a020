// The SDK's runtime against the real platform over HTTP: token renewal and rotation, retries
// after 429 with Retry-After, Idempotency-Keys, pagination and errors. Each client gets a fetch
// that records what went over the wire (and checks answers against /openapi.json); nothing of
// the platform is stubbed.
import { ApiError, type Auth, createClient, NetworkError, paginate, type Tokens, verifyWebhook, WebhookVerificationError } from "@buildly/sdk";
import { createServer } from "node:net";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, checkedFetch, counterTemplate, registerOrg, type RegisteredOrg, unique } from "./helpers";

const PASSWORD = "a long enough password";

interface Sent {
  method: string;
  path: string;
  status: number | "network error";
  headers: Headers;
  retryAfter: string | null;
  sentAt: number;
  answeredAt: number;
}

/** A client whose wire traffic is recorded in `sent`. */
function recorded(auth?: Auth, options: { baseUrl?: string; retries?: number; idempotencyKeys?: boolean } = {}) {
  const sent: Sent[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    const sentAt = Date.now();
    const entry = { method: req.method, path: new URL(req.url).pathname, headers: new Headers(req.headers), sentAt };
    try {
      const res = await checkedFetch(req);
      sent.push({ ...entry, status: res.status, retryAfter: res.headers.get("retry-after"), answeredAt: Date.now() });
      return res;
    } catch (err) {
      sent.push({ ...entry, status: "network error", retryAfter: null, answeredAt: Date.now() });
      throw err;
    }
  };
  const client = createClient({ baseUrl: options.baseUrl ?? baseUrl(), auth, fetch, retries: options.retries, idempotencyKeys: options.idempotencyKeys });
  return { client, sent };
}

const tokenCalls = (sent: Sent[]) => sent.filter((s) => s.path === "/v1/auth/token");

/** The password grant, as the authorization code flow will give a user's tokens. */
async function userTokens(email: string): Promise<Tokens> {
  const res = await checkedFetch(`${baseUrl()}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: email, password: PASSWORD }).toString(),
  });
  const body = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
  expect(body.refresh_token).toBeTruthy();
  return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt: Date.now() + body.expires_in * 1000 };
}

let org: RegisteredOrg;
const admin = () => createClient({ baseUrl: baseUrl(), auth: { type: "token", token: org.token }, fetch: checkedFetch });

beforeAll(async () => {
  org = await registerOrg("SDK runtime", PASSWORD, "sdk");
});

describe("authentication", () => {
  it("client credentials: one token request for many concurrent calls", async () => {
    const created = await admin().POST("/v1/clients", { body: { name: unique("sdk-robot"), roles: ["viewer"] } });
    expect(created.client_secret).toBeTruthy();
    const { client, sent } = recorded({ type: "clientCredentials", clientId: created.client_id, clientSecret: created.client_secret! });
    const pages = await Promise.all(Array.from({ length: 8 }, () => client.GET("/v1/crm/contacts", { params: { query: { limit: 1 } } })));
    expect(pages).toHaveLength(8);
    expect(tokenCalls(sent)).toHaveLength(1);
    expect(sent.filter((s) => s.path === "/v1/crm/contacts").map((s) => s.status)).toEqual(Array(8).fill(200));
  });

  it("user tokens: refreshed once, before expiry, for concurrent calls; the rotated refresh token replaces the old one", async () => {
    const first = await userTokens(org.email);
    const stored: Tokens[] = [];
    // Thirty seconds left: inside the client's margin, so it renews before the server would refuse.
    const auth: Auth = { type: "user", tokens: { ...first, expiresAt: Date.now() + 30_000 }, onTokens: (t) => void stored.push(t) };
    const { client, sent } = recorded(auth);
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.GET("/v1/auth/me")));
    expect(answers.every((me) => me.user.email === org.email)).toBe(true);
    expect(tokenCalls(sent)).toHaveLength(1);
    expect(stored).toHaveLength(1);
    const rotated = stored[0]!;
    expect(rotated.refreshToken).toBeTruthy();
    expect(rotated.refreshToken).not.toBe(first.refreshToken);
    expect(client.tokens()).toEqual(rotated);
    // Every call after the refresh carried the new access token.
    for (const s of sent.filter((s) => s.path === "/v1/auth/me")) expect(s.headers.get("authorization")).toBe(`Bearer ${rotated.accessToken}`);

    // What onTokens stored works from a fresh client (an app restarted with its saved tokens).
    const again = recorded({ type: "user", tokens: { ...rotated, expiresAt: Date.now() - 1 }, onTokens: (t) => void stored.push(t) });
    expect((await again.client.GET("/v1/auth/me")).user.email).toBe(org.email);
    expect(stored).toHaveLength(2);

    // The old refresh token is spent: a client still holding it gets the token endpoint's refusal.
    const stale = recorded({ type: "user", tokens: { ...first, expiresAt: Date.now() - 1 } });
    const err = await stale.client.GET("/v1/auth/me").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).title).toBe("invalid_grant");
  });

  it("password: signs in once, and renews with the refresh token it got", async () => {
    const stored: Tokens[] = [];
    const { client, sent } = recorded({ type: "password", username: org.email, password: PASSWORD, onTokens: (t) => void stored.push(t) });
    await Promise.all([client.GET("/v1/auth/me"), client.GET("/v1/auth/me")]);
    expect(tokenCalls(sent)).toHaveLength(1);
    expect(stored[0]!.refreshToken).toBeTruthy();
  });

  it("a static token is sent as is", async () => {
    const { client, sent } = recorded({ type: "token", token: org.token });
    expect((await client.GET("/v1/auth/me")).user.email).toBe(org.email);
    expect(sent[0]!.headers.get("authorization")).toBe(`Bearer ${org.token}`);
  });
});

describe("errors", () => {
  it("a non-2xx answer is an ApiError with the RFC 9457 problem", async () => {
    const { client, sent } = recorded({ type: "token", token: org.token });
    const missing = await client.GET("/v1/crm/contacts/{id}", { params: { path: { id: crypto.randomUUID() } } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    const e = missing as ApiError;
    expect(e.status).toBe(404);
    expect(e.type).toMatch(/^https?:\/\//);
    expect(e.title).toMatch(/\S/);
    expect(e.requestId).toBe(e.response.headers.get("x-request-id"));
    expect(e.problem.request_id).toBe(e.requestId);
    // A 404 is not retried.
    expect(sent).toHaveLength(1);

    const invalid = await client.POST("/v1/crm/contacts", { body: { first_name: "A", last_name: "B", email: "not an email" } }).catch((x: unknown) => x);
    expect(invalid).toBeInstanceOf(ApiError);
    expect((invalid as ApiError).status).toBe(422);
    expect((invalid as ApiError).errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: "email" })]));
  });

  it("no answer at all is a NetworkError, retried only where the request is safe to repeat", async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const { client, sent } = recorded({ type: "token", token: "x" }, { baseUrl: `http://127.0.0.1:${closed}`, retries: 2 });
    const read = await client.GET("/health").catch((e: unknown) => e);
    expect(read).toBeInstanceOf(NetworkError);
    expect(read).not.toBeInstanceOf(ApiError);
    expect(sent.map((s) => s.status)).toEqual(["network error", "network error", "network error"]);

    const unkeyed = recorded({ type: "token", token: "x" }, { baseUrl: `http://127.0.0.1:${closed}`, retries: 2, idempotencyKeys: false });
    const write = await unkeyed.client.POST("/v1/crm/contacts", { body: { first_name: "A", last_name: "B", email: "a@b.example" } }).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(NetworkError);
    expect(unkeyed.sent).toHaveLength(1);
  });
});

describe("idempotency and retries", () => {
  it("every write carries an Idempotency-Key; a caller's own key replays the first answer", async () => {
    const { client, sent } = recorded({ type: "token", token: org.token });
    const email = `${unique("idem")}@e2e.example`;
    await client.POST("/v1/crm/contacts", { body: { first_name: "Ida", last_name: "Key", email } });
    expect(sent[0]!.headers.get("idempotency-key")).toMatch(/^[0-9a-f-]{36}$/);

    const key = unique("my-key");
    const body = { first_name: "Own", last_name: "Key", email: `${unique("own")}@e2e.example` };
    const a = await client.withResponse.POST("/v1/crm/contacts", { body, headers: { "Idempotency-Key": key } });
    const b = await client.withResponse.POST("/v1/crm/contacts", { body, headers: { "Idempotency-Key": key } });
    expect(b.data.id).toBe(a.data.id);
    expect(b.response.headers.get("idempotent-replayed")).toBe("true");
    expect(sent.slice(1).map((s) => s.headers.get("idempotency-key"))).toEqual([key, key]);
  });

  it("429s are retried after Retry-After, writes under the same key, and nothing is created twice", { timeout: 120_000 }, async () => {
    const limited = await registerOrg("SDK retries", PASSWORD, "sdk-retry");
    await createClient({ baseUrl: baseUrl(), auth: { type: "token", token: limited.token }, fetch: checkedFetch }).PATCH("/v1/organizations/current", {
      body: { rate_limits: { user: { limit: 2, window_seconds: 4 } } },
    });
    const { client, sent } = recorded({ type: "token", token: limited.token }, { retries: 8 });
    const tag = unique("burst");
    const emails = Array.from({ length: 5 }, (_, i) => `${tag}-${i}@e2e.example`);
    const created = await Promise.all(
      emails.map((email) => client.POST("/v1/crm/contacts", { body: { first_name: "R", last_name: "T", email, tags: [tag] } })),
    );
    expect(created.map((c) => c.email).sort()).toEqual([...emails].sort());

    const refused = sent.filter((s) => s.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
      const key = r.headers.get("idempotency-key");
      // The retry of this request: same key, sent no earlier than Retry-After said.
      const retry = sent.find((s) => s.headers.get("idempotency-key") === key && s.sentAt >= r.answeredAt && s !== r);
      expect(retry, `a retry of ${key}`).toBeDefined();
      expect(retry!.sentAt - r.answeredAt).toBeGreaterThanOrEqual(Number(r.retryAfter) * 1000);
    }
    // One contact per email, though some POSTs were sent more than once.
    const listed = [];
    for await (const c of paginate((cursor) => client.GET("/v1/crm/contacts", { params: { query: { tag, cursor, limit: 10 } } }))) listed.push(c);
    expect(listed).toHaveLength(5);

    // Without a key a POST is not repeated: the 429 comes back as an ApiError.
    const unkeyed = recorded({ type: "token", token: limited.token }, { idempotencyKeys: false, retries: 8 });
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) =>
        unkeyed.client.POST("/v1/crm/contacts", { body: { first_name: "N", last_name: "K", email: `${tag}-n${i}@e2e.example` } }),
      ),
    );
    const rejected = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    expect(rejected.length).toBeGreaterThan(0);
    for (const e of rejected) expect((e as ApiError).status).toBe(429);
    expect(unkeyed.sent).toHaveLength(4);
    expect(unkeyed.sent.every((s) => !s.headers.has("idempotency-key"))).toBe(true);
  });
});

describe("pagination", () => {
  it("paginate() follows next_cursor through every page", async () => {
    const { client, sent } = recorded({ type: "token", token: org.token });
    const tag = unique("page");
    for (let i = 0; i < 5; i++)
      await client.POST("/v1/crm/contacts", { body: { first_name: `P${i}`, last_name: "G", email: `${tag}-${i}@e2e.example`, tags: [tag] } });
    const seen: string[] = [];
    for await (const c of paginate((cursor) => client.GET("/v1/crm/contacts", { params: { query: { tag, cursor, limit: 2 } } }))) seen.push(c.id);
    expect(new Set(seen).size).toBe(5);
    expect(sent.filter((s) => s.method === "GET")).toHaveLength(3);
  });
});

describe("webhooks", () => {
  it("verifyWebhook accepts what the platform's signing library signs, and nothing altered", async () => {
    const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
    const payload = JSON.stringify({ id: "evt_1", type: "crm.contact.created", data: { id: "c1" } });
    const at = new Date();
    const signature = new Webhook(secret).sign("msg_1", at, payload);
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": `v1,bm90IGl0 ${signature}` };
    expect(await verifyWebhook(payload, headers, secret)).toEqual(JSON.parse(payload));
    expect(await verifyWebhook(new TextEncoder().encode(payload), new Headers(headers), secret)).toEqual(JSON.parse(payload));
    await expect(verifyWebhook(payload.replace("c1", "c2"), headers, secret)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(payload, { ...headers, "webhook-id": "msg_2" }, secret)).rejects.toBeInstanceOf(WebhookVerificationError);
    const otherSecret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
    await expect(verifyWebhook(payload, headers, otherSecret)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(payload, headers, secret, { now: at.getTime() + 301_000 })).rejects.toThrow(/too far/);
    await expect(verifyWebhook(payload, { "webhook-id": "msg_1" }, secret)).rejects.toThrow(/Missing/);
  });
});

describe("workflows", () => {
  it("watchWorkflow yields the snapshot and every transition, and ends at the terminal state", async () => {
    const api = admin();
    const t = await api.POST("/v1/workflows/templates", { body: counterTemplate() });
    const instance = await api.POST("/v1/workflows/instances", { body: { template_id: t.id } });
    const events = [];
    for await (const event of api.watchWorkflow(instance.id)) {
      events.push(event);
      // Transitions are taken once the socket is open (its first message is the snapshot).
      if (event.type === "snapshot") {
        for (let n = 0; n < 3; n++)
          await api.POST("/v1/workflows/instances/{id}/transitions", { params: { path: { id: instance.id } }, body: { transition: "tick" } });
        await api.POST("/v1/workflows/instances/{id}/transitions", { params: { path: { id: instance.id } }, body: { transition: "close" } });
      }
    }
    expect(events[0]).toMatchObject({ type: "snapshot", instance: { id: instance.id, state: "open" } });
    expect(events.slice(1).map((e) => (e.type === "transition" ? e.transition : e.type))).toEqual(["tick", "tick", "tick", "close"]);
    expect(events.at(-1)).toMatchObject({ type: "transition", to: "closed", terminal: true });
  });

  it("watchWorkflow of an instance that is not there rejects with the API's 404", async () => {
    const err = await (async () => {
      for await (const _ of admin().watchWorkflow(crypto.randomUUID(), { maxReconnects: 1 })) return "yielded";
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
  });
});
