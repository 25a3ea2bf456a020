import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, json, expectProblem, registerOrganization, streamOf, type Account } from "./helpers";

let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Routing tests");
});
const authed = (path: string, init: RequestInit = {}) => call(path, bearer(admin.access_token, init));

describe("routing to logic services", () => {
  it("reaches the CRM service and real D1 rows, and rewrites Location to the gateway's path", async () => {
    const created = await authed("/v1/crm/contacts", json("POST", { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" }));
    expect(created.status).toBe(201);
    const body = await created.json<any>();
    expect(created.headers.get("location")).toBe(`/v1/crm/contacts/${body.id}`);
    const read = await authed(`/v1/crm/contacts/${body.id}`);
    expect(read.status).toBe(200);
    expect(await read.json<any>()).toMatchObject({ email: "ada@example.com" });
    const list = await authed("/v1/crm/contacts?limit=100");
    expect((await list.json<any>()).data.map((c: any) => c.id)).toContain(body.id);
  });

  it("reaches documents and appointments too", async () => {
    const cal = await authed("/v1/appointments/calendars", json("POST", { name: "Desk", time_zone: "Europe/Paris" }));
    expect(cal.status).toBe(201);
    // Appointment writes go through the appointments service's per-calendar Durable Object.
    const appt = await authed(
      "/v1/appointments/appointments",
      json("POST", {
        calendar_id: (await cal.json<any>()).id,
        title: "Intro",
        start: "2026-12-01T10:00:00+01:00",
        end: "2026-12-01T10:30:00+01:00",
        attendees: [],
      }),
    );
    expect(appt.status, await appt.clone().text()).toBe(201);
    const up = await authed("/v1/documents/files?name=hello.txt", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(up.status).toBe(201);
    const file = await up.json<any>();
    const content = await authed(`/v1/documents/files/${file.id}/content`);
    expect(await content.text()).toBe("hello");
  });

  it("forwards a path that starts with // as a path, never as another host", async () => {
    for (const path of ["//evil.example/steal", "///x", "/.//y"]) {
      const res = await authed(`/v1/fixture${path}?q=1`);
      expect(res.status, path).toBe(200);
      const seen = new URL((await res.json<any>()).url);
      expect(seen.host, path).toBe("fixture.internal");
      expect(seen.search).toBe("?q=1");
    }
  });

  it("forwards method, path, query, headers and body, and drops credentials and hop-by-hop headers", async () => {
    const res = await authed("/v1/fixture/some/path?a=1&b=two%20words", {
      method: "PATCH",
      headers: {
        "content-type": "application/json",
        "x-custom": "kept",
        authorization: "Bearer secret-token",
        cookie: "session=secret",
        "x-request-id": "client-chosen-id-123",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    const seen = await res.json<any>();
    expect(seen.method).toBe("PATCH");
    expect(new URL(seen.url).pathname).toBe("/some/path");
    expect(new URL(seen.url).search).toBe("?a=1&b=two%20words");
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers["x-request-id"]).toBe("client-chosen-id-123");
    // The same trace, with the gateway's own span as the parent (W3C: each hop names itself).
    expect(seen.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(seen.headers.traceparent).not.toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(seen.headers["x-forwarded-prefix"]).toBe("/v1/fixture");
    expect(seen.bytes).toBe(17);
    // The identity context travels as an RPC argument, not as a header a client could send.
    expect(seen.context).toMatchObject({ request_id: "client-chosen-id-123", organization_id: expect.any(String), system: false });
    expect(res.headers.get("x-request-id")).toBe("client-chosen-id-123");
    expect(res.headers.get("x-fixture")).toBe("yes");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("location")).toBe("/v1/fixture/things/1");
  });

  it("streams a large body of unknown length through to the service", async () => {
    const size = 6 * 1024 * 1024 + 123;
    const { stream, sha256 } = await streamOf(size);
    const res = await authed("/v1/fixture/upload", { method: "POST", body: stream });
    expect(res.status).toBe(200);
    const seen = await res.json<any>();
    expect(seen.bytes).toBe(size);
    expect(seen.sha256).toBe(sha256);
    expect(seen.headers["content-length"]).toBeUndefined();
  });

  it("refuses a body over the service's limit with 413, declared or streamed", async () => {
    const declared = await authed("/v1/crm/contacts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(1024 * 1024 + 10) }),
    });
    expect(declared.status).toBe(413);
    await expectProblem(declared);
    const { stream } = await streamOf(8 * 1024 * 1024 + 1);
    const streamed = await authed("/v1/fixture/upload", { method: "POST", body: stream });
    expect(streamed.status).toBe(413);
    expect((await expectProblem(streamed)).max_bytes).toBe(8 * 1024 * 1024);
  });

  it("answers unknown services, versions and routes with 404 problem+json", async () => {
    for (const path of ["/v1/nope/things", "/v2/crm/contacts", "/v1", "/nothing/here"]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      await expectProblem(res);
    }
  });

  it("passes the service's own 404/405/415/422/400 through as problem+json with the gateway's paths", async () => {
    const wrong = await authed("/v1/crm/contacts", { method: "PUT" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD, POST");
    expect((await expectProblem(wrong)).detail).toContain("/v1/crm/contacts");
    expect((await authed("/v1/crm/contacts", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" })).status).toBe(415);
    expect((await authed("/v1/crm/contacts", { method: "POST", headers: { "content-type": "application/json" }, body: "{" })).status).toBe(400);
    const invalid = await authed("/v1/crm/contacts", json("POST", { first_name: "A", last_name: "B", email: "nope" }));
    expect(invalid.status).toBe(422);
    expect((await expectProblem(invalid)).errors).toEqual([{ path: "email", message: expect.any(String) }]);
  });

  it("gives 504 when a service does not answer within its deadline", async () => {
    const started = Date.now();
    const res = await authed("/v1/fixture/hang");
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await expectProblem(res)).detail).toContain("fixture");
  });

  it("gives 502 when a service throws, without leaking its internals", async () => {
    const res = await authed("/v1/fixture/throw");
    expect(res.status).toBe(502);
    const text = await res.clone().text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toMatch(/at .*\.js/);
    await expectProblem(res);
  });
});

describe("request ids", () => {
  it("keeps a sane inbound X-Request-Id and replaces an unsafe one", async () => {
    const kept = await authed("/v1/crm/contacts", { headers: { "x-request-id": "abc-123-def-456" } });
    expect(kept.headers.get("x-request-id")).toBe("abc-123-def-456");
    const replaced = await authed("/v1/crm/contacts", { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const generated = await call("/health");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
