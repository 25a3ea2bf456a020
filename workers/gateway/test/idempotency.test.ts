import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, bearer, call, form, json, login, expectProblem, registerOrganization, type Account } from "./helpers";

let a: Account;
let b: Account;
beforeAll(async () => {
  a = await registerOrganization("Idem A");
  b = await registerOrganization("Idem B");
});

const contact = (email: string) => ({ first_name: "Ida", last_name: "Empotent", email });

describe("Idempotency-Key", () => {
  it("replays the stored response for a retry and never calls the service twice", async () => {
    const key = crypto.randomUUID();
    const email = `idem-${crypto.randomUUID()}@example.com`;
    const first = await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact(email), { "idempotency-key": key })));
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const firstBody = await first.json<any>();

    const retry = await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact(email), { "idempotency-key": `"${key}"` })));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.headers.get("location")).toBe(first.headers.get("location"));
    expect(await retry.json()).toEqual(firstBody);

    // Without a key the same body would have been a 409 duplicate email: the service really was not called again.
    const list = await (await call("/v1/crm/contacts?limit=100", bearer(a.access_token))).json<any>();
    expect(list.data.filter((c: any) => c.email === email)).toHaveLength(1);
  });

  it("answers 422 for the same key with a different body", async () => {
    const key = crypto.randomUUID();
    expect((await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact(`k1-${key}@example.com`), { "idempotency-key": key })))).status).toBe(
      201,
    );
    const other = await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact(`k2-${key}@example.com`), { "idempotency-key": key })));
    expect(other.status).toBe(422);
    await expectProblem(other);
  });

  it("answers 409 to a duplicate that arrives while the first is still running", async () => {
    const key = crypto.randomUUID();
    const send = () => call("/v1/fixture/slow", bearer(a.access_token, json("POST", { n: 1 }, { "idempotency-key": key })));
    const [one, two] = await Promise.all([send(), send()]);
    expect([one.status, two.status].sort()).toEqual([200, 409]);
    const conflict = one.status === 409 ? one : two;
    await expectProblem(conflict);
    // Once the first is done, a retry gets its stored response.
    const later = await send();
    expect(later.status).toBe(200);
    expect(later.headers.get("idempotent-replayed")).toBe("true");
  });

  it("keeps keys per organization", async () => {
    const key = crypto.randomUUID();
    expect((await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact(`a-${key}@example.com`), { "idempotency-key": key })))).status).toBe(
      201,
    );
    const inB = await call("/v1/crm/contacts", bearer(b.access_token, json("POST", contact(`b-${key}@example.com`), { "idempotency-key": key })));
    expect(inB.status).toBe(201);
    expect(inB.headers.get("idempotent-replayed")).toBeNull();
  });

  it("covers PATCH, and does not store server errors", async () => {
    const created = await (await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact(`p-${crypto.randomUUID()}@example.com`))))).json<any>();
    const key = crypto.randomUUID();
    const p1 = await call(`/v1/crm/contacts/${created.id}`, bearer(a.access_token, json("PATCH", { first_name: "Once" }, { "idempotency-key": key })));
    expect(p1.status).toBe(200);
    const p2 = await call(`/v1/crm/contacts/${created.id}`, bearer(a.access_token, json("PATCH", { first_name: "Once" }, { "idempotency-key": key })));
    expect(p2.headers.get("idempotent-replayed")).toBe("true");

    const bad = crypto.randomUUID();
    expect((await call("/v1/fixture/throw", bearer(a.access_token, json("POST", {}, { "idempotency-key": bad })))).status).toBe(502);
    const again = await call("/v1/fixture/throw", bearer(a.access_token, json("POST", {}, { "idempotency-key": bad })));
    expect(again.status).toBe(502);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
  });

  it("replays a large response byte for byte", async () => {
    const key = crypto.randomUUID();
    const first = await call("/v1/fixture/big", bearer(a.access_token, json("POST", { n: 1 }, { "idempotency-key": key })));
    expect(first.status).toBe(201);
    const original = new Uint8Array(await first.arrayBuffer());
    expect(original.byteLength).toBe(200000);
    const again = await call("/v1/fixture/big", bearer(a.access_token, json("POST", { n: 1 }, { "idempotency-key": key })));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(original);
  });

  it("refuses a malformed key", async () => {
    const res = await call("/v1/crm/contacts", bearer(a.access_token, json("POST", contact("x@example.com"), { "idempotency-key": "has spaces in it" })));
    expect(res.status).toBe(400);
    await expectProblem(res);
  });

  describe("keys belong to the caller, not to the organization", () => {
    async function member(roles = ["editor"]) {
      const email = `idem-m-${crypto.randomUUID()}@example.com`;
      const res = await call("/v1/users", bearer(a.access_token, json("POST", { email, name: "Member", password: PASSWORD, roles })));
      expect(res.status, await res.clone().text()).toBe(201);
      const user = await res.json<any>();
      return { token: (await login(email)).access_token, id: user.id as string };
    }
    async function machine() {
      const created = await (
        await call("/v1/clients", bearer(a.access_token, json("POST", { name: `m-${crypto.randomUUID()}`, roles: ["editor"] })))
      ).json<any>();
      const res = await call("/v1/auth/token", form({ grant_type: "client_credentials", client_id: created.client_id, client_secret: created.client_secret }));
      return { token: (await res.json<any>()).access_token as string, id: created.client_id as string };
    }
    const echo = (token: string, key: string, body: unknown = { same: "body" }) =>
      call("/v1/fixture/echo", bearer(token, json("POST", body, { "idempotency-key": key })));

    it("runs the same key and body once per user: neither sees the other's response", async () => {
      const editor = await member();
      const key = crypto.randomUUID();
      const mine = await echo(a.access_token, key);
      expect(mine.status).toBe(200);
      expect((await mine.json<any>()).context.user_id).toBe(a.user_id);
      // The editor sends the admin's key and body, in every spelling of the key the header allows.
      for (const spelled of [key, `"${key}"`, `  ${key}  `]) {
        const theirs = await echo(editor.token, spelled);
        expect(theirs.status).toBe(200);
        expect((await theirs.json<any>()).context.user_id).toBe(editor.id);
      }
      // ...and only the first of the editor's was executed: the rest are the editor's own replays.
      const replay = await echo(editor.token, key);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect((await replay.json<any>()).context.user_id).toBe(editor.id);
      // The admin's own retry still gets the admin's response.
      const again = await echo(a.access_token, key);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect((await again.json<any>()).context.user_id).toBe(a.user_id);
    });

    it("does not make two users wait on each other's key (sent at once, both run)", async () => {
      const [u1, u2] = [await member(), await member()];
      const key = crypto.randomUUID();
      const [r1, r2] = await Promise.all([
        call("/v1/fixture/slow", bearer(u1.token, json("POST", { n: 1 }, { "idempotency-key": key }))),
        call("/v1/fixture/slow", bearer(u2.token, json("POST", { n: 1 }, { "idempotency-key": key }))),
      ]);
      expect([r1.status, r2.status]).toEqual([200, 200]);
      expect((await r1.json<any>()).context.user_id).toBe(u1.id);
      expect((await r2.json<any>()).context.user_id).toBe(u2.id);
    });

    it("keeps an API client's keys apart from its organization's users", async () => {
      const client = await machine();
      const key = crypto.randomUUID();
      expect((await (await echo(a.access_token, key)).json<any>()).context.user_id).toBe(a.user_id);
      const res = await echo(client.token, key);
      expect(res.headers.get("idempotent-replayed")).toBeNull();
      expect((await res.json<any>()).context.user_id).toBe(client.id);
    });

    it("is still one key for one caller: a different body under the caller's own key is 422", async () => {
      const editor = await member();
      const key = crypto.randomUUID();
      expect((await echo(a.access_token, key, { v: 1 })).status).toBe(200);
      // Another user's different body is not a mismatch with the admin's key...
      expect((await echo(editor.token, key, { v: 2 })).status).toBe(200);
      // ...but the editor's own reuse with another body is.
      await expectProblem(await echo(editor.token, key, { v: 3 }));
    });
  });
});
