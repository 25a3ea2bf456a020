// D1 read replication end to end inside workerd: a logic service answers with its session's
// bookmark (packages/shared/src/d1-session.ts), the gateway passes it back to the client, and a
// read sent with it reaches the service and sees the write.
import { describe, expect, it } from "vitest";
import { bearer, call, json, registerOrganization } from "./helpers";

describe("D1 bookmarks through the gateway", () => {
  it("a write answers with the service's bookmark, and a read sent with it sees the write", async () => {
    const admin = await registerOrganization("Bookmarks");
    const created = await call(
      "/v1/crm/contacts",
      bearer(admin.access_token, json("POST", { first_name: "Book", last_name: "Mark", email: `b-${crypto.randomUUID()}@example.com` })),
    );
    expect(created.status, await created.clone().text()).toBe(201);
    const entry = created.headers.get("buildly-d1-bookmark");
    expect(entry).toMatch(/^crm=[A-Za-z0-9._:-]+$/);
    const { id } = await created.json<{ id: string }>();
    // Another service's entry in the same header is left to that service.
    const read = await call(`/v1/crm/contacts/${id}`, bearer(admin.access_token, { headers: { "buildly-d1-bookmark": `documents=abc, ${entry}` } }));
    expect(read.status).toBe(200);
    expect((await read.json<{ id: string }>()).id).toBe(id);
    expect(read.headers.get("buildly-d1-bookmark")).toMatch(/^crm=/);
    // Each service answers with its own entry only.
    const docs = await call("/v1/documents/files?limit=1", bearer(admin.access_token, { headers: { "buildly-d1-bookmark": entry! } }));
    expect(docs.status).toBe(200);
    expect(docs.headers.get("buildly-d1-bookmark")).toMatch(/^documents=/);
  });

  it("a malformed bookmark header is the client's 400, as problem+json", async () => {
    const admin = await registerOrganization("Bad bookmarks");
    const res = await call("/v1/crm/contacts", bearer(admin.access_token, { headers: { "buildly-d1-bookmark": "yesterday" } }));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("browsers may send and read the header (CORS)", async () => {
    const res = await call("/v1/crm/contacts", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": "buildly-d1-bookmark" },
    });
    expect(res.headers.get("access-control-allow-headers")).toContain("buildly-d1-bookmark");
  });
});
