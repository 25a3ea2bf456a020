// Webhooks (src/webhooks/): subscriptions through the gateway's routes, fan-out of platform events
// onto the real delivery queue, and the queue consumer POSTing them to receivers (a Worker reached
// through the gateway's outbound service, see vitest.config.ts), signed per Standard Webhooks.
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import { PlatformEventSchema, newId, type PlatformEvent } from "@buildly/shared";
import { fanOut } from "../src/webhooks";
import { targetProblem } from "../src/webhooks/target";
import { PASSWORD, bearer, call, json, login, expectProblem, registerOrganization, type Account, ok } from "./helpers";

let admin: Account;
let other: Account;
let viewer: string;

const as = (token: string) => ({
  get: (path: string) => call(path, bearer(token)),
  post: (path: string, body?: unknown) => call(path, bearer(token, body === undefined ? { method: "POST" } : json("POST", body))),
  patch: (path: string, body: unknown) => call(path, bearer(token, json("PATCH", body))),
  delete: (path: string) => call(path, bearer(token, { method: "DELETE" })),
});

interface Received {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What the receiver at /<key>/... has been sent so far. */
async function received(key: string): Promise<Received[]> {
  return (await fetch(`https://hooks.example.com/_log/${key}`)).json<Received[]>();
}

/** Polls (bounded) until `check` returns a value. */
async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function event(org: string, type: string, data: Record<string, unknown> = {}): PlatformEvent {
  const id = newId();
  return PlatformEventSchema.parse({
    specversion: "1.0",
    id,
    source: `/buildly/${type.split(".")[0]}`,
    type,
    time: new Date().toISOString(),
    subject: (data.id as string | undefined) ?? newId(),
    datacontenttype: "application/json",
    organizationid: org,
    actortype: "user",
    actorid: newId(),
    requestid: newId(),
    data: { id: newId(), ...data },
  });
}

async function subscribe(account: Account, url: string, events: string[]) {
  return ok<{ id: string; secret: string; status: string }>(as(account.access_token).post("/v1/webhooks", { url, events }), 201);
}

async function deliveries(account: Account, webhookId: string) {
  return (await ok<{ data: any[] }>(as(account.access_token).get(`/v1/webhooks/${webhookId}/deliveries?limit=100`))).data;
}

beforeAll(async () => {
  admin = await registerOrganization("Hooks Inc");
  other = await registerOrganization("Other Hooks");
  const email = `viewer-${crypto.randomUUID()}@example.com`;
  await ok(call("/v1/users", bearer(admin.access_token, json("POST", { email, name: "Viewer", password: PASSWORD, roles: ["viewer"] }))), 201);
  viewer = (await login(email)).access_token;
});

describe("targets (no SSRF)", () => {
  const prod = { allowLoopback: false };
  const dev = { allowLoopback: true };

  it.each([
    ["http://hooks.example.com/x", "Only https"],
    ["ftp://hooks.example.com/x", "scheme ftp"],
    ["javascript:alert(1)", "scheme javascript"],
    ["file:///etc/passwd", "scheme file"],
    ["gopher://hooks.example.com/", "scheme gopher"],
    ["https://user:pw@hooks.example.com/", "user information"],
    ["https://user@hooks.example.com/", "user information"],
    ["https://hooks.example.com/#x", "fragment"],
    ["not a url", "Not an absolute URL"],
    ["https://localhost/", "Loopback"],
    ["https://LOCALHOST./", "Loopback"],
    ["https://api.localhost/", "Loopback"],
    ["https://127.0.0.1/", "Loopback"],
    ["https://127.255.255.254/", "Loopback"],
    ["https://2130706433/", "Loopback"],
    ["https://0x7f000001/", "Loopback"],
    ["https://0177.0.0.1/", "Loopback"],
    ["https://127.1/", "Loopback"],
    ["https://0x7f.1/", "Loopback"],
    ["https://[::1]/", "Loopback"],
    ["https://[0:0:0:0:0:0:0:1]/", "Loopback"],
    ["https://[::ffff:127.0.0.1]/", "Loopback"],
    ["https://[::ffff:7f00:1]/", "Loopback"],
    ["https://10.0.0.1/", "a private address"],
    ["https://012.0.0.1/", "a private address"],
    ["https://167772161/", "a private address"],
    ["https://172.16.0.1/", "a private address"],
    ["https://172.31.255.255/", "a private address"],
    ["https://192.168.1.1/", "a private address"],
    ["https://0xc0.0xa8.1.1/", "a private address"],
    ["https://169.254.169.254/", "link-local"],
    ["https://0xa9fea9fe/", "link-local"],
    ["https://100.64.0.1/", "carrier-grade NAT"],
    ["https://100.127.255.255/", "carrier-grade NAT"],
    ["https://0.0.0.0/", "this network"],
    ["https://0/", "this network"],
    ["https://224.0.0.1/", "multicast"],
    ["https://239.255.255.250/", "multicast"],
    ["https://255.255.255.255/", "reserved"],
    ["https://192.0.2.1/", "documentation"],
    ["https://[::]/", "unspecified"],
    ["https://[::ffff:10.0.0.1]/", "IPv4-mapped"],
    ["https://[::ffff:a9fe:a9fe]/", "IPv4-mapped"],
    ["https://[::10.0.0.1]/", "IPv4-compatible"],
    ["https://[64:ff9b::a00:1]/", "NAT64"],
    ["https://[2002:a00:1::]/", "6to4"],
    ["https://[fc00::1]/", "unique-local"],
    ["https://[fd12:3456:789a::1]/", "unique-local"],
    ["https://[fe80::1]/", "link-local"],
    ["https://[fec0::1]/", "site-local"],
    ["https://[ff02::1]/", "multicast"],
    ["https://[2001:db8::1]/", "documentation"],
    ["https://[100::1]/", "discard"],
    ["https://intranet/", "Single-label"],
    ["https://intranet./", "Single-label"],
    ["https://printer.local/", ".local"],
    ["https://db.internal/", ".internal"],
    ["https://router.home.arpa/", ".home.arpa"],
  ])("refuses %s", (url, reason) => {
    const why = targetProblem(url, prod);
    expect(why, url).not.toBeNull();
    expect(why).toContain(reason);
  });

  it.each([
    "https://hooks.example.com/buildly",
    "https://hooks.example.com:8443/x?y=1",
    "https://8.8.8.8/",
    "https://1.1.1.1:443/",
    "https://[2606:4700:4700::1111]/",
    "https://172.32.0.1/",
    "https://100.128.0.1/",
  ])("accepts %s", (url) => {
    expect(targetProblem(url, prod)).toBeNull();
  });

  it("in development (WEBHOOKS_ALLOW_LOOPBACK) allows http and https to loopback only", () => {
    for (const url of ["http://127.0.0.1:9999/hook", "http://localhost:3000/", "http://[::1]:8080/", "https://127.0.0.1/", "http://2130706433/"]) {
      expect(targetProblem(url, dev), url).toBeNull();
    }
    for (const url of ["http://10.0.0.1/", "http://hooks.example.com/", "http://169.254.169.254/", "ftp://127.0.0.1/", "http://u:p@127.0.0.1/"]) {
      expect(targetProblem(url, dev), url).not.toBeNull();
    }
  });

  it("the gateway's own config (like production) refuses loopback at subscribe time", async () => {
    for (const [url, reason] of [
      ["http://127.0.0.1:8787/hook", "Only https"],
      ["https://127.0.0.1:8787/hook", "Loopback"],
      ["http://localhost:3000/", "Only https"],
    ] as const) {
      const res = await as(admin.access_token).post("/v1/webhooks", { url, events: ["*"] });
      expect(res.status).toBe(422);
      expect((await expectProblem(res)).errors).toEqual([{ path: "url", message: expect.stringContaining(reason) }]);
    }
  });
});

describe("subscriptions", () => {
  it("create shows the secret once; read, list, change, pause, resume, rotate, delete", async () => {
    const api = as(admin.access_token);
    const created = await api.post("/v1/webhooks", {
      url: "https://hooks.example.com/crud/ok",
      events: ["crm.contact.*", "crm.*", "crm.*"],
      description: "CRM",
    });
    const hook = await ok(created, 201);
    expect(created.headers.get("location")).toBe(`/v1/webhooks/${hook.id}`);
    expect(hook).toMatchObject({ url: "https://hooks.example.com/crud/ok", events: ["crm.contact.*", "crm.*"], description: "CRM", status: "active" });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(hook.created_by).toBe(admin.user_id);

    const read = await ok(api.get(`/v1/webhooks/${hook.id}`));
    expect(read).not.toHaveProperty("secret");
    expect(JSON.stringify(await ok(api.get("/v1/webhooks")))).not.toContain(hook.secret);
    // At rest the secret is sealed, not stored as given.
    const row = await env.DB.prepare("SELECT secret_sealed FROM webhook_subscriptions WHERE id = ?").bind(hook.id).first<{ secret_sealed: string }>();
    expect(row!.secret_sealed).not.toContain(hook.secret.slice(6, 20));

    const second = await ok(api.post("/v1/webhooks", { url: "https://hooks.example.com/crud2/ok", events: ["*"] }), 201);
    const page1 = await ok(api.get("/v1/webhooks?limit=1"));
    expect(page1.data.map((w: any) => w.id)).toEqual([hook.id]);
    const page2 = await ok(api.get(`/v1/webhooks?limit=1&cursor=${page1.next_cursor}`));
    expect(page2.data.map((w: any) => w.id)).toEqual([second.id]);

    const changed = await ok(
      api.patch(`/v1/webhooks/${hook.id}`, { events: ["documents.file.created"], url: "https://hooks.example.com/crud3/ok", description: null }),
    );
    expect(changed).toMatchObject({ events: ["documents.file.created"], url: "https://hooks.example.com/crud3/ok", description: null, status: "active" });
    expect(await env.DB.prepare("SELECT pattern FROM webhook_patterns WHERE subscription_id = ?").bind(hook.id).all()).toMatchObject({
      results: [{ pattern: "documents.file.created" }],
    });
    expect((await ok(api.patch(`/v1/webhooks/${hook.id}`, { status: "paused" }))).status).toBe("paused");
    expect((await ok(api.patch(`/v1/webhooks/${hook.id}`, { status: "active" }))).status).toBe("active");

    const rotated = await ok(api.post(`/v1/webhooks/${hook.id}/rotate-secret`));
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(hook.secret);

    await ok(api.delete(`/v1/webhooks/${hook.id}`), 204);
    expect((await expectProblem(await api.get(`/v1/webhooks/${hook.id}`))).status).toBe(404);
    expect((await api.delete(`/v1/webhooks/${hook.id}`)).status).toBe(404);
    await ok(api.delete(`/v1/webhooks/${second.id}`), 204);
  });

  it("only admins; another organization's webhooks are invisible", async () => {
    const hook = await subscribe(admin, "https://hooks.example.com/private/ok", ["*"]);
    expect((await as(viewer).get("/v1/webhooks")).status).toBe(403);
    expect((await as(viewer).post("/v1/webhooks", { url: "https://hooks.example.com/x/ok", events: ["*"] })).status).toBe(403);
    expect((await call("/v1/webhooks")).status).toBe(401);
    const o = as(other.access_token);
    expect((await o.get(`/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await o.patch(`/v1/webhooks/${hook.id}`, { status: "paused" })).status).toBe(404);
    expect((await o.post(`/v1/webhooks/${hook.id}/rotate-secret`)).status).toBe(404);
    expect((await o.get(`/v1/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    expect((await o.delete(`/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await ok(o.get("/v1/webhooks"))).data.map((w: any) => w.id)).not.toContain(hook.id);
    await ok(as(admin.access_token).delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it.each([
    [{ url: "https://hooks.example.com/x", events: ["crm..contact"] }, "events.0"],
    [{ url: "https://hooks.example.com/x", events: ["crm.contact.created", "CRM.*"] }, "events.1"],
    [{ url: "https://hooks.example.com/x", events: ["crm.*.created"] }, "events.0"],
    [{ url: "https://hooks.example.com/x", events: ["crm.contact.created.extra"] }, "events.0"],
    [{ url: "https://hooks.example.com/x", events: ["**"] }, "events.0"],
    // A service name may hold single hyphens (new-service allows them); a model or action may not.
    [{ url: "https://hooks.example.com/x", events: ["work-orders.*", "work--orders.*"] }, "events.1"],
    [{ url: "https://hooks.example.com/x", events: ["work-orders.item.*", "-crm.*"] }, "events.1"],
    [{ url: "https://hooks.example.com/x", events: ["work-orders.item.created", "crm.con-tact.*"] }, "events.1"],
    [{ url: "https://hooks.example.com/x", events: [] }, "events"],
    [{ url: "https://hooks.example.com/x", events: Array.from({ length: 21 }, (_, i) => `crm.m${i}.*`) }, "events"],
    [{ url: "https://hooks.example.com/x" }, "events"],
    [{ events: ["*"] }, "url"],
    [{ url: "https://hooks.example.com/x", events: ["*"], secret: "mine" }, ""],
    [{ url: "http://hooks.example.com/x", events: ["*"] }, "url"],
    [{ url: "https://10.0.0.1/x", events: ["*"] }, "url"],
    [{ url: "https://0x7f.1/x", events: ["*"] }, "url"],
    [{ url: "https://[::ffff:169.254.169.254]/x", events: ["*"] }, "url"],
    [{ url: `https://hooks.example.com/${"a".repeat(2100)}`, events: ["*"] }, "url"],
  ])("422 for %j names %s", async (body, path) => {
    const res = await as(admin.access_token).post("/v1/webhooks", body);
    const p = await expectProblem(res);
    expect(res.status).toBe(422);
    expect(p.errors.map((e: any) => e.path)).toContain(path);
    // Only the entry named is refused (the valid ones beside it, e.g. a hyphenated service, pass).
    if (path.startsWith("events.")) expect(p.errors.map((e: any) => e.path)).toEqual([path]);
  });

  it("PATCH validates too; a bad cursor and a malformed id are 422", async () => {
    const hook = await subscribe(admin, "https://hooks.example.com/patch/ok", ["*"]);
    const api = as(admin.access_token);
    expect((await api.patch(`/v1/webhooks/${hook.id}`, {})).status).toBe(422);
    expect((await expectProblem(await api.patch(`/v1/webhooks/${hook.id}`, { url: "https://192.168.0.10/" }))).errors[0].path).toBe("url");
    expect((await expectProblem(await api.patch(`/v1/webhooks/${hook.id}`, { status: "disabled" }))).errors[0].path).toBe("status");
    expect((await expectProblem(await api.patch(`/v1/webhooks/${hook.id}`, { events: ["nope"] }))).errors[0].path).toBe("events.0");
    expect((await api.get("/v1/webhooks?cursor=garbage")).status).toBe(422);
    expect((await api.get("/v1/webhooks/not-a-uuid")).status).toBe(422);
    const bad = await call(
      `/v1/webhooks/${hook.id}`,
      bearer(admin.access_token, { method: "PATCH", headers: { "content-type": "application/json" }, body: "{" }),
    );
    expect((await expectProblem(bad)).status).toBe(400);
    await ok(api.delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("at most 25 webhooks per organization (422), also under 30 concurrent creates", async () => {
    const org = await registerOrganization("Many Hooks");
    for (let i = 0; i < 20; i++) await subscribe(org, `https://hooks.example.com/many${i}/ok`, ["*"]);
    const burst = await Promise.all(
      Array.from({ length: 30 }, (_, i) => as(org.access_token).post("/v1/webhooks", { url: `https://hooks.example.com/burst${i}/ok`, events: ["*"] })),
    );
    expect(burst.filter((r) => r.status === 201)).toHaveLength(5);
    const refused = burst.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(25);
    for (const r of refused) {
      const p = await expectProblem(r);
      expect(p.status).toBe(422);
      expect(p.detail).toBe("This organization has reached its quota of 25 webhooks. Delete one first.");
    }
    const all = await ok<{ data: unknown[] }>(as(org.access_token).get("/v1/webhooks?limit=100"));
    expect(all.data).toHaveLength(25);
    // The refused creates left no pattern rows behind.
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM webhook_patterns WHERE organization_id = ?1")
      .bind(org.organization_id)
      .first<{ n: number }>())!;
    expect(n).toBe(25);
  });
});

describe("the trail of a subscription", () => {
  it("an admin who forwards every event to an outside URL and removes the subscription leaves both in the audit trail", { timeout: 120_000 }, async () => {
    const org = await registerOrganization("Exfiltration Story");
    const api = as(org.access_token);
    const key = `story-${crypto.randomUUID().slice(0, 8)}`;
    const url = `https://hooks.example.com/${key}/ok`;
    const hook = await subscribe(org, url, ["*"]);
    // Its own creation is an event too, and it goes out to the very subscription: wait for it.
    await eventually(async () => (await received(key)).some((r) => JSON.parse(r.body).type === "webhooks.subscription.created"), "the forwarded event", 60_000);
    await ok(api.delete(`/v1/webhooks/${hook.id}`), 204);
    expect((await api.get(`/v1/webhooks/${hook.id}`)).status).toBe(404);

    const trail = await eventually(
      async () => {
        const page = await ok<{ data: any[] }>(api.get(`/v1/audit?service=webhooks&limit=100`));
        return page.data.length >= 2 && page.data;
      },
      "the subscription's audit entries",
      60_000,
    );
    expect(trail.map((e) => [e.type, e.subject, e.actor, e.data.url, e.data.events])).toEqual([
      ["webhooks.subscription.deleted", hook.id, { type: "user", id: org.user_id }, url, ["*"]],
      ["webhooks.subscription.created", hook.id, { type: "user", id: org.user_id }, url, ["*"]],
    ]);
    expect(JSON.stringify(trail)).not.toContain(hook.secret);
    expect(await ok(api.get("/v1/audit/verify"))).toMatchObject({ intact: true, complete: true });
  });
});

describe("fan-out and delivery", () => {
  it("matches patterns per organization, queues one signed delivery per subscription and event", async () => {
    const run = crypto.randomUUID().slice(0, 8);
    const contacts = await subscribe(admin, `https://hooks.example.com/${run}-contacts/ok`, ["crm.contact.*"]);
    const crm = await subscribe(admin, `https://hooks.example.com/${run}-crm/ok`, ["crm.*", "crm.contact.created"]);
    const all = await subscribe(admin, `https://hooks.example.com/${run}-all/ok`, ["*"]);
    const files = await subscribe(admin, `https://hooks.example.com/${run}-files/ok`, ["documents.file.created"]);
    const paused = await subscribe(admin, `https://hooks.example.com/${run}-paused/ok`, ["*"]);
    await ok(as(admin.access_token).patch(`/v1/webhooks/${paused.id}`, { status: "paused" }));
    const foreign = await subscribe(other, `https://hooks.example.com/${run}-foreign/ok`, ["*"]);

    const created = event(admin.organization_id, "crm.contact.created", { name: "Ada" });
    const deal = event(admin.organization_id, "crm.deal.updated");
    const file = event(admin.organization_id, "documents.file.created");
    const visit = event(admin.organization_id, "appointments.appointment.deleted");
    const ours = new Set([created, deal, file, visit].map((e) => e.id));
    const result = await fanOut(env, [created, deal, file, visit]);
    // contacts: 1, crm: 2, all: 4, files: 1; paused and the other organization's: none.
    expect(result.deliveries).toBe(8);

    const expected: [string, string, PlatformEvent[]][] = [
      [`${run}-contacts`, contacts.secret, [created]],
      [`${run}-crm`, crm.secret, [created, deal]],
      [`${run}-all`, all.secret, [created, deal, file, visit]],
      [`${run}-files`, files.secret, [file]],
    ];
    for (const [key, secret, events] of expected) {
      const got = await eventually(async () => {
        const r = (await received(key)).filter((x) => ours.has(x.headers["webhook-id"]!));
        return r.length >= events.length && r;
      }, `${key} deliveries`);
      expect(got.map((r) => r.headers["webhook-id"]).sort()).toEqual(events.map((e) => e.id).sort());
      // Anything else a "*" subscriber got is one of this organization's own gateway events (the registration's, the subscriptions').
      for (const r of (await received(key)).filter((x) => !ours.has(x.headers["webhook-id"]!))) {
        expect(JSON.parse(r.body)).toMatchObject({ type: expect.stringMatching(/^(identity|webhooks)\./), organizationid: admin.organization_id });
      }
      for (const r of got) {
        expect(r.method).toBe("POST");
        expect(r.headers["content-type"]).toBe("application/json");
        // Verified by the Standard Webhooks library, as a receiver would; the body is the CloudEvent.
        const verified = new Webhook(secret).verify(r.body, r.headers);
        expect(PlatformEventSchema.parse(verified).id).toBe(r.headers["webhook-id"]);
        expect(JSON.parse(r.body)).toEqual(events.find((e) => e.id === r.headers["webhook-id"]));
        expect(() => new Webhook(all.secret === secret ? crm.secret : all.secret).verify(r.body, r.headers)).toThrow();
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(await received(`${run}-paused`)).toEqual([]);
    expect((await received(`${run}-foreign`)).filter((r) => ours.has(r.headers["webhook-id"]!))).toEqual([]);
    expect((await deliveries(other, foreign.id)).filter((d) => ours.has(d.event_id))).toEqual([]);

    // Handing the same events over again (the caller's batch retried) doubles nothing.
    expect((await fanOut(env, [created, deal])).deliveries).toBe(0);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id IN (?, ?, ?, ?)")
      .bind(created.id, deal.id, file.id, visit.id)
      .first<{ n: number }>();
    expect(rows!.n).toBe(8);

    const listed = (await deliveries(admin, all.id)).filter((d) => ours.has(d.event_id));
    expect(listed).toHaveLength(4);
    for (const d of listed) {
      expect(d).toMatchObject({ webhook_id: all.id, status: "delivered", attempt_count: 1, last_response_status: 204, next_retry_at: null });
      expect(d.attempts).toEqual([
        {
          attempt: 1,
          started_at: expect.any(String),
          duration_ms: expect.any(Number),
          response_status: 204,
          succeeded: true,
          error: null,
          next_retry_at: null,
        },
      ]);
    }
    for (const h of [contacts, crm, all, files, paused]) await ok(as(admin.access_token).delete(`/v1/webhooks/${h.id}`), 204);
    await ok(as(other.access_token).delete(`/v1/webhooks/${foreign.id}`), 204);
  });

  it("events sent to the buildly-events queue reach the webhooks through the event consumer, once", { timeout: 30_000 }, async () => {
    const key = `consumer-${crypto.randomUUID().slice(0, 8)}`;
    const hook = await subscribe(admin, `https://hooks.example.com/${key}/ok`, ["crm.contact.created"]);
    const e = event(admin.organization_id, "crm.contact.created");
    const ignored = event(admin.organization_id, "crm.contact.updated");
    await env.EVENTS.send({ events: [e, ignored] }, { contentType: "json" });
    const [r] = await eventually(async () => {
      const got = await received(key);
      return got.length > 0 && got;
    }, "the delivery");
    expect(JSON.parse(r!.body)).toEqual(e);
    new Webhook(hook.secret).verify(r!.body, r!.headers);
    // The same event again (a producer's relay and sweep both sent it): recorded once, delivered once.
    await env.EVENTS.send({ events: [e] }, { contentType: "json" });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await received(key)).map((x) => x.headers["webhook-id"])).toEqual([e.id]);
    await ok(as(admin.access_token).delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("a receiver that fails twice gets the event on the third try, with exponential backoff", { timeout: 60_000 }, async () => {
    const key = `flaky-${crypto.randomUUID().slice(0, 8)}`;
    const hook = await subscribe(admin, `https://hooks.example.com/${key}/fail-twice`, ["crm.contact.updated"]);
    const e = event(admin.organization_id, "crm.contact.updated");
    await fanOut(env, [e]);
    const [d] = await eventually(async () => {
      const list = await deliveries(admin, hook.id);
      return list[0]?.status === "delivered" && list;
    }, "the third attempt");
    expect(d.attempt_count).toBe(3);
    expect(d.attempts.map((a: any) => [a.attempt, a.response_status, a.succeeded])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    // Retry delays 1 s then 2 s (WEBHOOK_RETRY_BASE_SECONDS = 1 in the tests), due times recorded per attempt.
    const [a1, a2, a3] = d.attempts;
    const due1 = Date.parse(a1.next_retry_at) - Date.parse(a1.started_at) - a1.duration_ms;
    const due2 = Date.parse(a2.next_retry_at) - Date.parse(a2.started_at) - a2.duration_ms;
    expect(Math.round(due1 / 1000)).toBe(1);
    expect(Math.round(due2 / 1000)).toBe(2);
    expect(Date.parse(a3.started_at)).toBeGreaterThanOrEqual(Date.parse(a2.next_retry_at) - 50);
    expect(a3.next_retry_at).toBeNull();
    const got = await received(key);
    expect(got.map((r) => r.headers["webhook-id"])).toEqual([e.id, e.id, e.id]);
    for (const r of got) new Webhook(hook.secret).verify(r.body, r.headers);
    await ok(as(admin.access_token).delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("dead-letters after the last attempt, disables a webhook that keeps failing, resumes and redelivers", { timeout: 60_000 }, async () => {
    // An organization of its own: no other test's webhook matches its events.
    const org = await registerOrganization("Failing Hooks");
    const key = `down-${crypto.randomUUID().slice(0, 8)}`;
    const api = as(org.access_token);
    const hook = await subscribe(org, `https://hooks.example.com/${key}/fail`, ["crm.*"]);
    const first = event(org.organization_id, "crm.contact.created");
    const second = event(org.organization_id, "crm.contact.deleted");
    await fanOut(env, [first]);
    await eventually(async () => (await deliveries(org, hook.id))[0]?.status === "dead_lettered", "the first dead letter");
    expect((await ok(api.get(`/v1/webhooks/${hook.id}`))).status).toBe("active");
    await fanOut(env, [second]);
    const disabled = await eventually(async () => {
      const h = await ok(api.get(`/v1/webhooks/${hook.id}`));
      return h.status === "disabled" && h;
    }, "the webhook to be disabled");
    expect(disabled.disabled_reason).toMatch(/2 deliveries in a row failed \(3 attempts each\); the last: The receiver answered 500/);
    const list = await deliveries(org, hook.id);
    expect(list.map((d: any) => [d.event_id, d.status, d.attempt_count])).toEqual([
      [second.id, "dead_lettered", 3],
      [first.id, "dead_lettered", 3],
    ]);
    expect(list[0].attempts.map((a: any) => a.next_retry_at === null)).toEqual([false, false, true]);
    expect((await ok(api.get(`/v1/webhooks/${hook.id}/deliveries?status=delivered`))).data).toEqual([]);
    expect((await received(key)).length).toBe(6);

    // A disabled webhook gets nothing new, and cannot be redelivered to until resumed.
    expect((await fanOut(env, [event(org.organization_id, "crm.contact.updated")])).deliveries).toBe(0);
    expect((await expectProblem(await api.post(`/v1/webhooks/${hook.id}/deliveries/${list[0].id}/redeliver`))).status).toBe(409);
    const resumed = await ok(api.patch(`/v1/webhooks/${hook.id}`, { status: "active", url: `https://hooks.example.com/${key}/ok` }));
    expect(resumed).toMatchObject({ status: "active", disabled_reason: null });

    const again = await ok(api.post(`/v1/webhooks/${hook.id}/deliveries/${list[0].id}/redeliver`), 202);
    expect(again).toMatchObject({ id: list[0].id, status: "pending" });
    const redelivered = await eventually(async () => {
      const d = (await deliveries(org, hook.id)).find((x: any) => x.id === list[0].id);
      return d?.status === "delivered" && d;
    }, "the redelivery");
    expect(redelivered.attempt_count).toBe(4);
    expect(redelivered.attempts.at(-1)).toMatchObject({ attempt: 4, response_status: 204, succeeded: true });
    const last = (await received(key)).at(-1)!;
    expect(last.url).toBe(`https://hooks.example.com/${key}/ok`);
    expect(last.headers["webhook-id"]).toBe(second.id);
    new Webhook(hook.secret).verify(last.body, last.headers);
    expect((await api.post(`/v1/webhooks/${hook.id}/deliveries/${newId()}/redeliver`)).status).toBe(404);
    expect((await as(other.access_token).post(`/v1/webhooks/${hook.id}/deliveries/${list[0].id}/redeliver`)).status).toBe(404);
    await ok(api.delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("one round of attempts per delivery at a time: concurrent redeliveries start one, a stale message sends nothing", { timeout: 90_000 }, async () => {
    const org = await registerOrganization("Redeliver Race");
    const key = `race-${crypto.randomUUID().slice(0, 8)}`;
    const api = as(org.access_token);
    const hook = await subscribe(org, `https://hooks.example.com/${key}/fail`, ["crm.*"]);
    await fanOut(env, [event(org.organization_id, "crm.contact.created")]);
    const [first] = await eventually(async () => {
      const list = await deliveries(org, hook.id);
      return list[0]?.status === "dead_lettered" && list;
    }, "the first round to end");
    expect(first.attempt_count).toBe(3);

    // Ten at once: exactly one starts the next round, the others are told one is under way.
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.post(`/v1/webhooks/${hook.id}/deliveries/${first.id}/redeliver`)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([202, ...Array(9).fill(409)]);
    for (const r of answers.filter((x) => x.status === 409)) expect((await expectProblem(r)).detail).toMatch(/already (queued|being retried)/);
    // While it retries, another redelivery is refused too (it would send twice).
    await eventually(async () => (await deliveries(org, hook.id))[0]?.status === "retrying", "the second round to retry");
    const during = await expectProblem(await api.post(`/v1/webhooks/${hook.id}/deliveries/${first.id}/redeliver`));
    expect(during.status).toBe(409);
    expect(during.detail).toMatch(/already being retried \(next attempt at /);
    const second = await eventually(async () => {
      const d = (await deliveries(org, hook.id))[0];
      return d?.status === "dead_lettered" && d;
    }, "the second round to end");
    expect(second.attempt_count).toBe(6);

    // Two dead letters in a row disabled it (WEBHOOK_DISABLE_AFTER_FAILURES = 2 here): resume.
    await ok(api.patch(`/v1/webhooks/${hook.id}`, { status: "active" }));
    // Messages of the earlier rounds (a queue redelivering an old message) send nothing.
    await env.WEBHOOK_DELIVERIES.send({ delivery_id: first.id }, { contentType: "json" });
    await env.WEBHOOK_DELIVERIES.send({ delivery_id: first.id, round: 1 }, { contentType: "json" });
    await ok(api.post(`/v1/webhooks/${hook.id}/deliveries/${first.id}/redeliver`), 202);
    const third = await eventually(async () => {
      const d = (await deliveries(org, hook.id))[0];
      return d?.status === "dead_lettered" && d.attempt_count >= 9 && d;
    }, "the third round to end");
    expect(third.attempt_count).toBe(9);
    expect(third.attempts.map((a: any) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await received(key)).length).toBe(9);
    await ok(api.delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("a delivery our own code cannot attempt ends dead-lettered after the last try, not left retrying", { timeout: 60_000 }, async () => {
    const org = await registerOrganization("Broken Secret");
    const key = `internal-${crypto.randomUUID().slice(0, 8)}`;
    const api = as(org.access_token);
    const hook = await subscribe(org, `https://hooks.example.com/${key}/ok`, ["crm.*"]);
    // A sealed secret that no longer opens: every attempt fails in the gateway, before any POST.
    const { secret_sealed } = (await env.DB.prepare("SELECT secret_sealed FROM webhook_subscriptions WHERE id = ?1")
      .bind(hook.id)
      .first<{ secret_sealed: string }>())!;
    await env.DB.prepare("UPDATE webhook_subscriptions SET secret_sealed = ?2 WHERE id = ?1")
      .bind(hook.id, `${secret_sealed.split(".")[0]}.AAAA`)
      .run();
    await fanOut(env, [event(org.organization_id, "crm.contact.created")]);
    const [d] = await eventually(async () => {
      const list = await deliveries(org, hook.id);
      return list[0]?.status === "dead_lettered" && list;
    }, "the delivery to be dead-lettered");
    expect(d).toMatchObject({ attempt_count: 0, next_retry_at: null });
    expect(d.last_error).toMatch(/platform failed to attempt this delivery 3 times/);
    expect(await received(key)).toEqual([]);
    // Repaired, a redelivery goes through.
    await env.DB.prepare("UPDATE webhook_subscriptions SET secret_sealed = ?2 WHERE id = ?1").bind(hook.id, secret_sealed).run();
    await ok(api.post(`/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`), 202);
    await eventually(async () => (await deliveries(org, hook.id))[0]?.status === "delivered", "the redelivery");
    expect((await received(key)).length).toBe(1);
    await ok(api.delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("a receiver that does not answer in time is a failed attempt", { timeout: 30_000 }, async () => {
    const key = `slow-${crypto.randomUUID().slice(0, 8)}`;
    const hook = await subscribe(admin, `https://hooks.example.com/${key}/hang`, ["crm.*"]);
    await fanOut(env, [event(admin.organization_id, "crm.contact.created")]);
    const [d] = await eventually(async () => {
      const list = await deliveries(admin, hook.id);
      return list[0]?.attempts.length > 0 && list;
    }, "the first attempt");
    expect(d.attempts[0]).toMatchObject({ response_status: null, succeeded: false, error: "No answer within 1000 ms" });
    expect(d.attempts[0].duration_ms).toBeGreaterThanOrEqual(900);
    expect(d.attempts[0].duration_ms).toBeLessThan(4000);
    await ok(as(admin.access_token).patch(`/v1/webhooks/${hook.id}`, { status: "paused" }));
    expect((await deliveries(admin, hook.id))[0].status).toBe("cancelled");
    await ok(as(admin.access_token).delete(`/v1/webhooks/${hook.id}`), 204);
  });

  it("checks every redirect hop and the target again at delivery; reads only the start of a huge answer", { timeout: 30_000 }, async () => {
    const run = crypto.randomUUID().slice(0, 8);
    const to = (target: string) => `https://hooks.example.com/${run}-hop/redirect?to=${encodeURIComponent(target)}`;
    const toPrivate = await subscribe(admin, to("https://169.254.169.254/latest/meta-data"), ["crm.*"]);
    const toLoopback = await subscribe(admin, to("http://127.0.0.1:8787/v1/auth/me"), ["crm.*"]);
    const toPublic = await subscribe(admin, to(`https://hooks.example.com/${run}-landed/ok`), ["crm.*"]);
    const big = await subscribe(admin, `https://hooks.example.com/${run}-big/big`, ["crm.*"]);
    const later = await subscribe(admin, `https://hooks.example.com/${run}-later/ok`, ["crm.*"]);
    // A target that became private after subscribing (a row changed behind the API's back) is refused at delivery.
    await env.DB.prepare("UPDATE webhook_subscriptions SET url = 'https://[::ffff:10.0.0.1]/x' WHERE id = ?").bind(later.id).run();

    const e = event(admin.organization_id, "crm.contact.created");
    await fanOut(env, [e]);
    const first = async (id: string) =>
      eventually(async () => {
        const list = await deliveries(admin, id);
        return list[0]?.attempts.length && list[0].attempts[0];
      }, `a first attempt for ${id}`);
    expect(await first(toPrivate.id)).toMatchObject({
      succeeded: false,
      response_status: null,
      error: expect.stringMatching(/^Redirect target refused: .*link-local/),
    });
    expect(await first(toLoopback.id)).toMatchObject({ succeeded: false, error: expect.stringMatching(/^Redirect target refused: Only https/) });
    expect(await first(toPublic.id)).toMatchObject({ succeeded: true, response_status: 204 });
    expect(await first(later.id)).toMatchObject({ succeeded: false, error: expect.stringMatching(/^Target refused: .*IPv4-mapped/) });
    const landed = await received(`${run}-landed`);
    expect(landed).toHaveLength(1);
    new Webhook(toPublic.secret).verify(landed[0]!.body, landed[0]!.headers);

    expect(await first(big.id)).toMatchObject({ succeeded: true, response_status: 200 });
    const { bytes } = await (await fetch(`https://hooks.example.com/_pulled/${run}-big`)).json<{ bytes: number }>();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(1024 * 1024);
    for (const h of [toPrivate, toLoopback, toPublic, big, later]) await ok(as(admin.access_token).delete(`/v1/webhooks/${h.id}`), 204);
  });

  it("after a secret rotation, deliveries carry a signature for the new and for the previous secret", async () => {
    const key = `rotated-${crypto.randomUUID().slice(0, 8)}`;
    const hook = await subscribe(admin, `https://hooks.example.com/${key}/ok`, ["crm.*"]);
    const rotated = await ok(as(admin.access_token).post(`/v1/webhooks/${hook.id}/rotate-secret`));
    await fanOut(env, [event(admin.organization_id, "crm.contact.created")]);
    const [r] = await eventually(async () => {
      const got = await received(key);
      return got.length > 0 && got;
    }, "the delivery");
    expect(r!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    new Webhook(rotated.secret).verify(r!.body, r!.headers);
    new Webhook(hook.secret).verify(r!.body, r!.headers);
    await ok(as(admin.access_token).delete(`/v1/webhooks/${hook.id}`), 204);
  });
});
