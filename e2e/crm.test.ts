// Calls go through the SDK (typed from /openapi.json); raw requests remain where a test sends a
// malformed one on purpose (bad JSON, wrong content type, unknown fields, oversized and streamed bodies).
import { paginate, type Schema } from "@buildly/sdk";
import { describe, expect, it } from "vitest";
import { UUID, api, expectApiError, expectProblem, postJson, sdk, unique, untilAnswered } from "./helpers";

type Contact = Schema<"Crm_Contact">;

describe("CRM contacts through the gateway", () => {
  it("creates, reads, updates and deletes a contact; Location names the gateway's path", async () => {
    const client = sdk();
    const email = `${unique("ada")}@E2E.example`;
    const { data: contact, response: created } = await client.withResponse.POST("/v1/crm/contacts", {
      body: { first_name: "Ada", last_name: "Lovelace", email, phone: "+442079460000", tags: ["e2e"] },
    });
    expect(created.status).toBe(201);
    expect(contact.id).toMatch(UUID);
    expect(created.headers.get("location")).toBe(`/v1/crm/contacts/${contact.id}`);
    expect(contact).toMatchObject({
      first_name: "Ada",
      last_name: "Lovelace",
      email: email.toLowerCase(),
      phone: "+442079460000",
      company_id: null,
      tags: ["e2e"],
    });
    expect(contact).not.toHaveProperty("organization_id");

    // The Location is usable as is.
    const read = await api(created.headers.get("location")!);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(contact);

    // The demo organization's seeded company "Analytical Engines Ltd".
    const path = { id: contact.id };
    const { data: after, response: updated } = await client.withResponse.PATCH("/v1/crm/contacts/{id}", {
      params: { path },
      body: { company_id: "c0a1b2c3-0000-4000-8000-00000000c001", tags: ["e2e", "vip"] },
    });
    expect(updated.status).toBe(200);
    expect(after).toMatchObject({ id: contact.id, email: email.toLowerCase(), company_id: "c0a1b2c3-0000-4000-8000-00000000c001", tags: ["e2e", "vip"] });
    expect(after.updated_at >= contact.updated_at).toBe(true);
    expect((await client.GET("/v1/crm/contacts/{id}", { params: { path } })).company_id).toBe("c0a1b2c3-0000-4000-8000-00000000c001");

    const conflict = await expectApiError(client.POST("/v1/crm/contacts", { body: { first_name: "Other", last_name: "Person", email } }), 409);
    expect(conflict.errors).toEqual([expect.objectContaining({ path: "email" })]);

    const deleted = await client.withResponse.DELETE("/v1/crm/contacts/{id}", { params: { path } });
    expect(deleted.response.status).toBe(204);
    expect(deleted.data).toBeUndefined();
    await expectApiError(client.GET("/v1/crm/contacts/{id}", { params: { path } }), 404);
    await expectApiError(client.DELETE("/v1/crm/contacts/{id}", { params: { path } }), 404);
  });

  it("lists a page at a time: every contact exactly once, oldest first, then next_cursor null", async () => {
    const client = sdk();
    const tag = unique("page");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { data, response } = await client.withResponse.POST("/v1/crm/contacts", {
        body: { first_name: `P${i}`, last_name: "Page", email: `${tag}-${i}@e2e.example`, tags: [tag] },
      });
      expect(response.status).toBe(201);
      ids.push(data.id);
    }

    const pages: Contact[][] = [];
    let cursor: string | undefined;
    do {
      const body = await client.GET("/v1/crm/contacts", { params: { query: { tag, limit: 2, cursor } } });
      pages.push(body.data);
      cursor = body.next_cursor ?? undefined;
      expect(pages.length).toBeLessThan(10);
    } while (cursor);

    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const seen = pages.flat();
    // Same-millisecond rows are ordered by id, so compare as sets; the order itself is checked on the keys.
    expect(seen.map((c) => c.id).sort()).toEqual([...ids].sort());
    const keys = seen.map((c) => `${c.created_at}|${c.id}`);
    expect([...keys].sort()).toEqual(keys);

    // Without the tag filter the new contacts are there too, among the others.
    const all: Contact[] = [];
    for await (const c of paginate((cursor) => client.GET("/v1/crm/contacts", { params: { query: { limit: 3, cursor } } }))) all.push(c);
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    expect(all.map((c) => c.id)).toEqual(expect.arrayContaining(ids));

    for (const id of ids) expect((await client.withResponse.DELETE("/v1/crm/contacts/{id}", { params: { path: { id } } })).response.status).toBe(204);
    expect((await client.GET("/v1/crm/contacts", { params: { query: { tag } } })).data).toEqual([]);
  });

  it("rejects a cursor it did not issue and an out-of-range limit with 422", async () => {
    const client = sdk();
    const bad = await expectApiError(client.GET("/v1/crm/contacts", { params: { query: { cursor: "not-ours" } } }), 422);
    expect(bad.errors.map((e) => e.path)).toContain("cursor");
    const limit = await expectApiError(client.GET("/v1/crm/contacts", { params: { query: { limit: 1000 } } }), 422);
    expect(limit.errors.map((e) => e.path)).toEqual([expect.stringContaining("limit")]);
  });
});

describe("CRM request errors are problem+json with a request_id", () => {
  it("malformed JSON: 400", async () => {
    const res = await api("/v1/crm/contacts", { method: "POST", headers: { "content-type": "application/json" }, body: '{"first_name": "Ada",' });
    const p = await expectProblem(res, 400);
    expect(p.detail).toMatch(/json/i);
  });

  it("wrong content type: 415", async () => {
    const res = await api("/v1/crm/contacts", { method: "POST", headers: { "content-type": "text/plain" }, body: "first_name=Ada" });
    const p = await expectProblem(res, 415);
    expect(p.detail).toContain("text/plain");
  });

  it("schema violation: 422 with one errors[] entry per field, by path", async () => {
    const res = await postJson("/v1/crm/contacts", { first_name: "", email: "not-an-email", phone: "0207", extra: true });
    const p = await expectProblem(res, 422);
    expect(Array.isArray(p.errors)).toBe(true);
    for (const e of p.errors!) {
      expect(typeof e.path).toBe("string");
      expect(e.message).toMatch(/\S/);
    }
    const paths = p.errors!.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["first_name", "last_name", "email", "phone"]));

    const patch = await expectApiError(
      sdk().PATCH("/v1/crm/contacts/{id}", { params: { path: { id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01" } }, body: { tags: [""] } }),
      422,
    );
    expect(patch.errors.map((e) => e.path)).toEqual(["tags.0"]);
  });

  it("bad path parameter: 422 naming the parameter", async () => {
    const p = await expectApiError(sdk().GET("/v1/crm/contacts/{id}", { params: { path: { id: "not-a-uuid" } } }), 422);
    expect(p.errors.map((e) => e.path).join(" ")).toContain("id");
  });

  it("body over the route's 64 KiB: 413 from the CRM service", async () => {
    const body = JSON.stringify({ first_name: "a".repeat(70 * 1024), last_name: "b", email: "big@e2e.example" });
    const p = await expectProblem(await api("/v1/crm/contacts", { method: "POST", headers: { "content-type": "application/json" }, body }), 413);
    expect(p.max_bytes).toBe(64 * 1024);
  });

  it("body over the 1 MiB the gateway forwards to crm: 413 from the gateway", async () => {
    const body = JSON.stringify({ first_name: "a".repeat(1024 * 1024 + 10), last_name: "b", email: "huge@e2e.example" });
    const p = await expectProblem(await api("/v1/crm/contacts", { method: "POST", headers: { "content-type": "application/json" }, body }), 413);
    expect(p.max_bytes).toBe(1024 * 1024);
  });

  it("a streamed body of unknown length over the limit: 413, not a 5xx", async () => {
    const send = () => {
      const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"first_name":"'));
          if (sent >= 96 * 1024) {
            controller.enqueue(new TextEncoder().encode('","last_name":"b","email":"s@e2e.example"}'));
            controller.close();
            return;
          }
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        },
      });
      return api("/v1/crm/contacts", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit);
    };
    // The service stops reading at its limit and answers at once; workerd may then close the
    // connection while the client is still writing (EPIPE/reset on the client's side). That race
    // is the transport's, so retry until an answer is read; any answer other than 413 fails.
    await expectProblem(await untilAnswered(send), 413);
  });
});
