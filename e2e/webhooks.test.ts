// Webhooks end to end: a receiver on a local port (allowed by WEBHOOKS_ALLOW_LOOPBACK, which
// scripts/dev.sh sets), subscribed over the API; changes in every logic service and the identity
// API reach it as CloudEvents signed per Standard Webhooks, verified with the standardwebhooks
// library as a receiver would. Calls to the platform go through the SDK (typed from /openapi.json).
import type { Client } from "@buildly/sdk";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectApiError, type RegisteredOrg, registerOrg, sdk, unique } from "./helpers";

const PASSWORD = "e2e webhooks password 1";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** One HTTP server; /<key>/ok answers 204, /<key>/fail-twice answers 500 twice per webhook-id, then 200. */
let server: Server;
let receiverBase: string;
const received = new Map<string, Received[]>();
const failures = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [, key = "", mode] = (req.url ?? "/").split("/");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.set(key, [...(received.get(key) ?? []), { path: req.url ?? "", headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() }]);
      if (mode === "fail-twice") {
        const id = `${key}/${headers["webhook-id"]}`;
        const n = (failures.get(id) ?? 0) + 1;
        failures.set(id, n);
        res.writeHead(n <= 2 ? 500 : 200).end(n <= 2 ? "not yet" : "ok");
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiverBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

type Org = RegisteredOrg & { client: Client };

async function org(name: string): Promise<Org> {
  const o = await registerOrg(name, PASSWORD, "hooks");
  return { ...o, client: sdk(o.token) };
}

/** The body of an answer that must have exactly this status. */
async function ok<T>(call: Promise<{ data: T; response: Response }>, status = 200): Promise<T> {
  const { data, response } = await call;
  expect(response.status, JSON.stringify(data)).toBe(status);
  return data;
}

async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The deliveries to `key` so far, each verified with the webhook's secret and parsed. */
function events(key: string, secret: string) {
  return (received.get(key) ?? []).map((r) => {
    const event = new Webhook(secret).verify(r.body, r.headers) as Record<string, any>;
    return { ...r, event };
  });
}

let one: Org;
let two: Org;
let hookOne: { id: string; secret: string };
let hookTwo: { id: string; secret: string };
const keyOne = unique("one");
const keyTwo = unique("two");

describe("webhooks end to end", () => {
  beforeAll(async () => {
    one = await org("Webhooks One");
    two = await org("Webhooks Two");
    hookOne = await ok(
      one.client.withResponse.POST("/v1/webhooks", { body: { url: `${receiverBase}/${keyOne}/ok`, events: ["*"], description: "everything" } }),
      201,
    );
    hookTwo = await ok(two.client.withResponse.POST("/v1/webhooks", { body: { url: `${receiverBase}/${keyTwo}/ok`, events: ["*"] } }), 201);
  });

  it("every change in the three services and the identity API arrives, signed, once per event id", { timeout: 180_000 }, async () => {
    // Its own subscription is a change too, and it forwards everything: that event arrives as well.
    const expected: { type: string; subject: string }[] = [{ type: "webhooks.subscription.created", subject: hookOne.id }];
    const api = one.client.withResponse;
    const contact = await ok(api.POST("/v1/crm/contacts", { body: { first_name: "Hook", last_name: "Test", email: `${unique("c")}@example.com` } }), 201);
    expected.push({ type: "crm.contact.created", subject: contact.id });
    const path = { params: { path: { id: contact.id } } };
    await ok(api.PATCH("/v1/crm/contacts/{id}", { ...path, body: { last_name: "Changed" } }));
    expected.push({ type: "crm.contact.updated", subject: contact.id });
    await ok(api.DELETE("/v1/crm/contacts/{id}", path), 204);
    expected.push({ type: "crm.contact.deleted", subject: contact.id });
    const folder = await ok(api.POST("/v1/documents/folders", { body: { name: unique("Folder") } }), 201);
    expected.push({ type: "documents.folder.created", subject: folder.id });
    const calendar = await ok(api.POST("/v1/appointments/calendars", { body: { name: unique("cal"), time_zone: "Europe/Berlin" } }), 201);
    expected.push({ type: "appointments.calendar.created", subject: calendar.id });
    const client = await ok(api.POST("/v1/clients", { body: { name: unique("hook-client"), roles: ["viewer"] } }), 201);
    expected.push({ type: "identity.client.created", subject: client.client_id });
    const user = await ok(
      api.POST("/v1/users", { body: { email: `${unique("u")}@e2e.example`, name: "Someone", password: PASSWORD, roles: ["viewer"] } }),
      201,
    );
    await ok(api.PUT("/v1/users/{id}/roles", { params: { path: { id: user.id } }, body: { roles: ["editor"] } }));
    expected.push({ type: "identity.user.roles_changed", subject: user.id });

    const got = await eventually(() => {
      const all = events(keyOne, hookOne.secret);
      return expected.every((e) => all.some((r) => r.event.type === e.type && r.event.subject === e.subject)) && all;
    }, "every event at the receiver");
    for (const r of got) {
      // The body is the CloudEvent; webhook-id is its id, the key a receiver deduplicates by.
      expect(r.event).toMatchObject({ specversion: "1.0", organizationid: one.organization_id, datacontenttype: "application/json" });
      expect(r.headers["webhook-id"]).toBe(r.event.id);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(Math.abs(Number(r.headers["webhook-timestamp"]) * 1000 - r.at)).toBeLessThan(60_000);
      expect(() => new Webhook(hookTwo.secret).verify(r.body, r.headers)).toThrow();
    }
    // Distinct changes are distinct ids; a repeat (at-least-once) would carry the same id.
    const firstOfEach = new Map(got.map((r) => [r.event.id, r.event]));
    for (const e of expected) expect([...firstOfEach.values()].filter((x) => x.type === e.type && x.subject === e.subject)).toHaveLength(1);
    const created = got.find((r) => r.event.type === "crm.contact.created" && r.event.subject === contact.id)!;
    expect(created.event).toMatchObject({
      source: expect.stringContaining("crm"),
      actortype: "user",
      actorid: one.user_id,
      data: { id: contact.id, first_name: "Hook" },
    });

    // The deliveries are listed with their attempts.
    const list = await ok(api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id: hookOne.id }, query: { limit: 100 } } }));
    expect(list.data.length).toBeGreaterThanOrEqual(expected.length);
    expect(list.data.every((d) => d.status === "delivered" && d.attempts.at(-1)!.response_status === 204)).toBe(true);
  });

  it("a receiver that fails twice gets the event on the third try", { timeout: 120_000 }, async () => {
    const key = unique("flaky");
    const api = one.client.withResponse;
    const flaky = await ok(api.POST("/v1/webhooks", { body: { url: `${receiverBase}/${key}/fail-twice`, events: ["crm.company.created"] } }), 201);
    const company = await ok(api.POST("/v1/crm/companies", { body: { name: unique("Flaky Co") } }), 201);
    const got = await eventually(() => {
      const r = received.get(key) ?? [];
      return r.length >= 3 && r;
    }, "three attempts");
    expect(got.map((r) => r.headers["webhook-id"])).toEqual([got[0]!.headers["webhook-id"], got[0]!.headers["webhook-id"], got[0]!.headers["webhook-id"]]);
    for (const r of got) new Webhook(flaky.secret).verify(r.body, r.headers);
    expect(JSON.parse(got[2]!.body)).toMatchObject({ type: "crm.company.created", subject: company.id });
    const [delivery] = await eventually(async () => {
      const list = await ok(api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id: flaky.id } } }));
      return list.data[0]?.status === "delivered" && list.data;
    }, "the delivery to be delivered");
    expect(delivery!.attempts.map((a) => a.response_status)).toEqual([500, 500, 200]);
    expect(delivery!.attempts[0]!.next_retry_at).not.toBeNull();
    await ok(api.DELETE("/v1/webhooks/{id}", { params: { path: { id: flaky.id } } }), 204);
  });

  it("a second organization's webhooks get none of the first's events, only its own", { timeout: 120_000 }, async () => {
    const mine = await ok(
      two.client.withResponse.POST("/v1/crm/contacts", { body: { first_name: "Other", last_name: "Org", email: `${unique("o")}@example.com` } }),
      201,
    );
    await eventually(() => events(keyTwo, hookTwo.secret).some((r) => r.event.subject === mine.id), "org two's own event");
    const all = events(keyTwo, hookTwo.secret);
    expect(all.every((r) => r.event.organizationid === two.organization_id)).toBe(true);
    expect(all.length).toBeGreaterThan(0);
    // And nothing of org two's reached org one's receiver.
    expect(events(keyOne, hookOne.secret).every((r) => r.event.organizationid === one.organization_id)).toBe(true);
    // Each organization sees only its own webhooks.
    await expectApiError(two.client.GET("/v1/webhooks/{id}", { params: { path: { id: hookOne.id } } }), 404);
    expect((await ok(two.client.withResponse.GET("/v1/webhooks"))).data.map((w) => w.id)).toEqual([hookTwo.id]);
  });
});
