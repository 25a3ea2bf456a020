import { beforeAll, describe, expect, it } from "vitest";
import { ADDED_SERVICES, bearer, call, registerOrganization, type Account } from "./helpers";

let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Routing tests");
});
const authed = (path: string, init: RequestInit = {}) => call(path, bearer(admin.access_token, init));

describe("health and services", () => {
  it("checks every service, each with a real D1 query, and reports a broken one", async () => {
    const res = await call("/health");
    // The fixture service's health throws, so the platform is degraded in this test setup.
    expect(res.status).toBe(503);
    const body = await res.json<any>();
    expect(body.gateway).toBe("ok");
    expect(body.status).toBe("degraded");
    const byName = Object.fromEntries(body.services.map((s: any) => [s.service, s]));
    for (const name of ["crm", "documents", "appointments", ...ADDED_SERVICES]) {
      expect(byName[name]).toMatchObject({ status: "ok", checks: { d1: "ok" } });
    }
    expect(byName.fixture.status).toBe("error");
  });

  it("lists the registered services with version and health", async () => {
    const res = await call("/v1/services");
    expect(res.status).toBe(200);
    const { data } = await res.json<any>();
    // A service added with `npm run new-service` is registered after the built-in ones.
    expect(data.map((s: any) => s.name)).toEqual(["crm", "documents", "appointments", ...ADDED_SERVICES, "fixture", "mirror", "broken"]);
    expect(data[0]).toEqual({
      name: "crm",
      title: "CRM",
      version: "v1",
      prefix: "/v1/crm",
      openapi: "/v1/crm/openapi.json",
      health: "ok",
    });
    expect(data.find((s: any) => s.name === "fixture").health).toBe("error");
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin without auth", async () => {
    const res = await call("/v1/crm/contacts", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toContain("authorization");
  });

  it("does not allow an unknown origin", async () => {
    const res = await authed("/v1/crm/contacts", { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const ok = await authed("/v1/crm/contacts", { headers: { origin: "https://app.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-request-id");
  });

  it("answers a request without Origin with the headers hono's cors gave it, on every kind of answer", async () => {
    const expose =
      "x-request-id,location,etag,retry-after,ratelimit,ratelimit-policy,idempotent-replayed,content-range,content-disposition,accept-ranges,server-timing,mesh-complete,buildly-d1-bookmark";
    const withOrigin = await authed("/v1/crm/contacts", { headers: { origin: "https://app.example" } });
    for (const res of [
      await authed("/v1/crm/contacts"), // a proxied answer
      await call("/v1/crm/contacts"), // the gateway's own error (401)
      await call("/health"), // a gateway route outside /v1
      await call("/v1/nothing-here/x"), // not found
    ]) {
      expect(res.headers.get("access-control-allow-origin"), res.url).toBeNull();
      expect(res.headers.get("access-control-expose-headers"), res.url).toBe(expose);
      expect(res.headers.get("vary"), res.url).toContain("Origin");
      await res.body?.cancel();
    }
    expect(withOrigin.headers.get("access-control-expose-headers")).toBe(expose);
    expect(withOrigin.headers.get("vary")).toBe((await authed("/v1/crm/contacts")).headers.get("vary"));
  });
});

describe("OpenAPI aggregation", () => {
  it("merges every service under its prefix with namespaced components and unique operation ids", async () => {
    const res = await call("/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining(["/health", "/v1/services", "/v1/crm/contacts", "/v1/crm/contacts/{id}", "/v1/documents/files", "/v1/appointments/calendars"]),
    );
    const ids: string[] = [];
    for (const item of Object.values<any>(doc.paths)) for (const op of Object.values<any>(item)) if (op.operationId) ids.push(op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain("crm_createContact");
    const schemas = Object.keys(doc.components.schemas);
    expect(schemas).toEqual(expect.arrayContaining(["Crm_Contact", "Appointments_Calendar", "Documents_File", "Problem"]));
    // Identical Problem schemas fold into the gateway's; nothing dangles.
    expect(schemas.some((s) => s.endsWith("_Problem"))).toBe(false);
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const ref of refs) expect(schemas).toContain(ref.slice(22, -1));
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    // The fixture serves no document: it is named as unavailable, not silently dropped.
    expect(doc.info.description).toContain("fixture");
  });
});

describe("docs page", () => {
  it("serves an HTML page whose assets come from the gateway itself", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) expect(ref.startsWith("/")).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
  });
});
