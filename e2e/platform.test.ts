// Well-formed calls go through the SDK; raw requests remain for unknown routes, wrong methods,
// CORS preflights and Origin headers, which the API document does not describe as operations.
import { describe, expect, it } from "vitest";
import { UUID, anon, api, expectApiError, expectProblem, postJson, sdk, unique } from "./helpers";

import { SERVICE_NAMES as SERVICES } from "./registry";

describe("health and services", () => {
  it("GET /health is 200 with every logic service ok (each ran a query on its D1)", async () => {
    const { data: body, response } = await sdk().withResponse.GET("/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(body.status).toBe("ok");
    expect(body.gateway).toBe("ok");
    expect(body.services.map((s) => s.service).sort()).toEqual([...SERVICES].sort());
    for (const s of body.services) {
      expect(s.status, s.service).toBe("ok");
      expect(s.checks, s.service).toEqual({ d1: "ok" });
    }
  });

  it("GET /v1/services lists every registered service with prefix, OpenAPI path and health", async () => {
    const { data } = await sdk().GET("/v1/services");
    expect(data.map((s) => s.name).sort()).toEqual([...SERVICES].sort());
    for (const s of data) {
      expect(s).toMatchObject({
        version: "v1",
        prefix: `/v1/${s.name}`,
        openapi: `/v1/${s.name}/openapi.json`,
        health: "ok",
        title: expect.stringMatching(/\S/),
      });
      // The advertised document really is reachable through the gateway (a path the list names, so a raw call).
      const doc = await api(s.openapi);
      expect(doc.status, s.openapi).toBe(200);
      expect(((await doc.json()) as { openapi: string }).openapi).toMatch(/^3\.1\./);
    }
  });
});

describe("X-Request-Id", () => {
  it("echoes a sane inbound id, on the gateway's own routes and through to a service", async () => {
    const id = "e2e-trace.0001:abc_DEF-xyz";
    const headers = { "x-request-id": id };
    const own = await sdk().withResponse.GET("/health", { headers });
    expect(own.response.headers.get("x-request-id")).toBe(id);

    const proxied = await sdk().withResponse.GET("/v1/crm/contacts", { params: { query: { limit: 1 } }, headers });
    expect(proxied.response.status).toBe(200);
    expect(proxied.response.headers.get("x-request-id")).toBe(id);

    // The service saw the same id: it is the one in its problem body.
    const problem = await expectApiError(sdk().GET("/v1/crm/contacts/{id}", { params: { path: { id: "not-a-uuid" } }, headers }), 422);
    expect(problem.requestId).toBe(id);
  });

  it.each([
    ["spaces", "has spaces in it"],
    ["too short", "abc"],
    ["too long", "a".repeat(200)],
    ["odd characters", "id<script>alert(1)</script>"],
  ])("replaces an insane inbound id (%s) with a generated one", async (_, insane) => {
    const { response } = await sdk().withResponse.GET("/v1/crm/contacts", { params: { query: { limit: 1 } }, headers: { "x-request-id": insane } });
    const got = response.headers.get("x-request-id");
    expect(got).not.toBe(insane);
    expect(got).toMatch(UUID);
  });

  it("generates a fresh id per request when none is sent", async () => {
    const a = (await sdk().withResponse.GET("/health")).response.headers.get("x-request-id");
    const b = (await sdk().withResponse.GET("/health")).response.headers.get("x-request-id");
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
  });
});

describe("routing errors are problem+json", () => {
  it("unknown route of a known service: 404", async () => {
    const p = await expectProblem(await api("/v1/crm/no-such-thing"), 404);
    expect(p.detail).toContain("/v1/crm/no-such-thing");
  });

  it("unknown route of the gateway: 404", async () => {
    await expectProblem(await api("/no-such-page"), 404);
  });

  it("unknown service: 404", async () => {
    const p = await expectProblem(await api("/v1/nope/contacts"), 404);
    expect(p.detail).toContain("nope");
  });

  it("unknown version of a known service (/v2/crm/contacts): 404 from the gateway", async () => {
    const p = await expectProblem(await api("/v2/crm/contacts"), 404);
    expect(p.detail).toContain("v2");
  });

  it("wrong method: 405 with Allow", async () => {
    const res = await api("/v1/crm/contacts", { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
    const allow = res.headers.get("allow");
    await expectProblem(res, 405);
    expect(allow?.split(/,\s*/).sort()).toEqual(["GET", "HEAD", "POST"]);

    const onItem = await api("/v1/crm/contacts/6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", { method: "POST" });
    const itemAllow = onItem.headers.get("allow");
    await expectProblem(onItem, 405);
    expect(itemAllow?.split(/,\s*/).sort()).toEqual(["DELETE", "GET", "HEAD", "PATCH"]);

    const own = await api("/health", { method: "DELETE" });
    const ownAllow = own.headers.get("allow");
    await expectProblem(own, 405);
    expect(ownAllow?.split(/,\s*/).sort()).toEqual(["GET", "HEAD"]);
  });
});

describe("CORS", () => {
  const allowed = "http://localhost:3000";

  it("answers a preflight from an allowed origin with 204 and no credentials", async () => {
    const res = await anon("/v1/crm/contacts", {
      method: "OPTIONS",
      headers: {
        origin: allowed,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization, x-request-id",
      },
    });
    await res.arrayBuffer();
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(res.headers.get("access-control-allow-methods")?.split(",")).toContain("POST");
    const allowHeaders = res.headers
      .get("access-control-allow-headers")
      ?.toLowerCase()
      .split(",")
      .map((h) => h.trim());
    expect(allowHeaders).toEqual(expect.arrayContaining(["content-type", "authorization", "x-request-id"]));
    expect(res.headers.get("vary")?.toLowerCase()).toContain("origin");
  });

  it("lets an allowed origin read a real response and its exposed headers", async () => {
    const res = await postJson("/v1/crm/contacts", { first_name: "Cors", last_name: "Check", email: `${unique("cors")}@e2e.example` }, { origin: allowed });
    const body = (await res.json()) as { id: string };
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowed);
    const exposed = res.headers.get("access-control-expose-headers")?.toLowerCase().split(",");
    expect(exposed).toEqual(expect.arrayContaining(["x-request-id", "location"]));
    expect((await api(`/v1/crm/contacts/${body.id}`, { method: "DELETE" })).status).toBe(204);
  });

  it("gives a disallowed origin no allow-origin header, on preflight or on a real call", async () => {
    const pre = await anon("/v1/crm/contacts", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    await pre.arrayBuffer();
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();

    const real = await api("/v1/crm/contacts?limit=1", { headers: { origin: "https://evil.example" } });
    await real.arrayBuffer();
    expect(real.status).toBe(200);
    expect(real.headers.get("access-control-allow-origin")).toBeNull();
  });
});
