import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const gateway = (exports as unknown as { default: Fetcher }).default;
const call = (path: string, init?: RequestInit) => gateway.fetch(`https://gateway.example${path}`, init);

describe("routing", () => {
  it("reaches the CRM service and real D1 rows through the gateway", async () => {
    const created = await call("/v1/crm/contacts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" }),
    });
    expect(created.status).toBe(201);
    const body = await created.json<any>();
    expect(created.headers.get("location")).toBe(`/v1/crm/contacts/${body.id}`);
    const read = await call(`/v1/crm/contacts/${body.id}`);
    expect(read.status).toBe(200);
    expect(await read.json<any>()).toMatchObject({ email: "ada@example.com" });
    const list = await call("/v1/crm/contacts?limit=5");
    expect((await list.json<any>()).data.map((c: any) => c.id)).toContain(body.id);
  });
});
