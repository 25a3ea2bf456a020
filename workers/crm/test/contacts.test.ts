import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORG_A, ORG_B, identity, serviceClient } from "@buildly/shared/test";

const rpc = (exports as unknown as { CrmService: Parameters<typeof serviceClient>[0] }).CrmService;
const a = serviceClient(rpc, ORG_A);
const b = serviceClient(rpc, ORG_B);

let n = 0;
function contact(overrides: Record<string, unknown> = {}) {
  n += 1;
  return { first_name: "Ada", last_name: "Lovelace", email: `ada${n}@example.com`, ...overrides };
}

describe("contacts", () => {
  it("creates, reads, updates and deletes a contact in D1", async () => {
    const created = await a.post("/contacts", contact({ phone: "+442079460000", tags: ["vip"] }));
    expect(created.status).toBe(201);
    const body = await created.json<any>();
    expect(body).toMatchObject({ first_name: "Ada", phone: "+442079460000", tags: ["vip"] });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(created.headers.get("location")).toBe(`/contacts/${body.id}`);

    const read = await a.get(`/contacts/${body.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(body);

    const updated = await a.patch(`/contacts/${body.id}`, { company: "Analytical Engines" });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ id: body.id, company: "Analytical Engines" });

    expect((await a.delete(`/contacts/${body.id}`)).status).toBe(204);
    expect((await a.get(`/contacts/${body.id}`)).status).toBe(404);
  });

  it("keeps emails unique within an organization, case-insensitively", async () => {
    const c = contact({ email: "Grace@Example.com" });
    expect((await a.post("/contacts", c)).status).toBe(201);
    const dup = await a.post("/contacts", { ...c, email: "grace@example.COM" });
    expect(dup.status).toBe(409);
    expect(dup.headers.get("content-type")).toBe("application/problem+json");
    // Another organization may use the same address.
    expect((await b.post("/contacts", c)).status).toBe(201);
  });

  it("hides other organizations' contacts as if they did not exist", async () => {
    const id = (await (await a.post("/contacts", contact())).json<any>()).id;
    expect((await b.get(`/contacts/${id}`)).status).toBe(404);
    expect((await b.patch(`/contacts/${id}`, { first_name: "Mallory" })).status).toBe(404);
    expect((await b.delete(`/contacts/${id}`)).status).toBe(404);
    const listed = await (await b.get("/contacts?limit=100")).json<any>();
    expect(listed.data.map((x: any) => x.id)).not.toContain(id);
    expect((await a.get(`/contacts/${id}`)).status).toBe(200);
  });

  it("pages through a list with an opaque cursor", async () => {
    const org = crypto.randomUUID();
    const c = serviceClient(rpc, org);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await (await c.post("/contacts", contact())).json<any>()).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await (await c.get(`/contacts?limit=2${cursor ? `&cursor=${cursor}` : ""}`)).json();
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((x: any) => x.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const first = await (await c.get("/contacts")).json<any>();
    expect(first.data).toHaveLength(5);
    expect(first.next_cursor).toBeNull();
  });

  it("filters by tag", async () => {
    const c = serviceClient(rpc, crypto.randomUUID());
    await c.post("/contacts", contact({ tags: ["vip"] }));
    await c.post("/contacts", contact({ tags: ["other"] }));
    const page = await (await c.get("/contacts?tag=vip")).json<any>();
    expect(page.data).toHaveLength(1);
    expect(page.data[0].tags).toEqual(["vip"]);
  });

  it("answers bad input with problem+json", async () => {
    const bad = await a.post("/contacts", { first_name: "", email: "not-an-email", phone: "123" });
    expect(bad.status).toBe(422);
    const problem = await bad.json<any>();
    expect(problem).toMatchObject({ status: 422, title: "Unprocessable Content" });
    expect(problem.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(["first_name", "last_name", "email", "phone"]));

    expect((await a.raw("POST", "/contacts", { body: "{nope", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await a.raw("POST", "/contacts", { body: "x", headers: { "content-type": "text/plain" } })).status).toBe(415);
    const huge = JSON.stringify({ ...contact(), first_name: "x".repeat(70 * 1024) });
    expect((await a.raw("POST", "/contacts", { body: huge, headers: { "content-type": "application/json" } })).status).toBe(413);
    expect((await a.get("/contacts/not-a-uuid")).status).toBe(422);
    expect((await a.get("/contacts?limit=0")).status).toBe(422);
    expect((await a.get("/contacts?limit=101")).status).toBe(422);
    expect((await a.get("/contacts?cursor=garbage")).status).toBe(422);
    const wrongMethod = await a.raw("PUT", "/contacts");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, POST");
    expect((await a.get("/nowhere")).status).toBe(404);
  });

  it("refuses calls without a valid identity context, and any direct HTTP call", async () => {
    const noCtx = await rpc.handle(new Request("https://service.internal/contacts"), { request_id: "x" });
    expect(noCtx.status).toBe(401);
    const direct = await (exports as any).default.fetch("https://crm.example/contacts");
    expect(direct.status).toBe(401);
    expect(direct.headers.get("content-type")).toBe("application/problem+json");
  });

  it("reports health from a real D1 query and serves its OpenAPI 3.1", async () => {
    expect(await (rpc as any).health()).toEqual({ service: "crm", status: "ok", checks: { d1: "ok" } });
    const doc = await (await rpc.handle(new Request("https://service.internal/openapi.json"), identity())).json<any>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/contacts", "/contacts/{id}"]));
  });
});
