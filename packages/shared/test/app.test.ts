import { createExecutionContext } from "cloudflare:test";
import { createRoute, z } from "@hono/zod-openapi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createServiceApp, handleWithContext, jsonBody, readTextLimited } from "../src/app";
import { ApiError } from "../src/errors";
import { IdParamSchema } from "../src/ids";
import { logError } from "../src/logging";
import { identity, ORG_A } from "../src/test";

const LIMIT = 64;
const SECRET = "D1_ERROR: secret-token-7f3a at /var/db";

/** A tiny service built the way every logic service is. */
function buildApp() {
  const app = createServiceApp<Record<string, never>>("tiny");
  app.openapi(
    createRoute({
      method: "get",
      path: "/items/{id}",
      request: { params: IdParamSchema, query: z.object({ limit: z.coerce.number().int().max(10).optional() }) },
      responses: { 200: { description: "ok", content: { "application/json": { schema: z.object({ id: z.string() }) } } } },
    }),
    (c) => c.json({ id: c.req.valid("param").id }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/items",
      middleware: [jsonBody(LIMIT)] as const,
      request: {
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z.object({ name: z.string().min(1), address: z.object({ city: z.string() }), tags: z.array(z.string()) }),
            },
          },
        },
      },
      responses: { 201: { description: "created", content: { "application/json": { schema: z.object({ name: z.string() }) } } } },
    }),
    (c) => c.json({ name: c.req.valid("json").name }, 201),
  );
  app.get("/boom", () => {
    throw new Error(SECRET);
  });
  app.get("/boom-string", () => {
    throw SECRET;
  });
  app.get("/unavailable", () => {
    throw new ApiError(503, "Maintenance until 13:00 UTC.", { headers: { "retry-after": "120" } });
  });
  app.get("/moved", () => Response.redirect("https://service.internal/items/1", 302));
  app.get("/whoami", (c) => {
    whoamiRuns++;
    return c.json({ request_id: c.get("requestId"), organization_id: c.get("identity")?.organization_id });
  });
  return app;
}

const app = buildApp();

/** As a service's RPC entrypoint runs it: with a verified identity context. */
let whoamiRuns = 0;

function call(path: string, init: RequestInit = {}, context: unknown = identity(ORG_A)) {
  return handleWithContext(app, {}, createExecutionContext(), new Request(`https://service.internal${path}`, init), context);
}

const json = (body: unknown, extra: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...extra },
});

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === "string" ? enc.encode(c) : c);
      controller.close();
    },
  });
}

/** A body that never ends, and records whether the reader gave up on it. */
function endlessStream() {
  const state = { pulls: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulls += 1;
      controller.enqueue(new TextEncoder().encode(`{"name":"${"x".repeat(16)}`));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

afterEach(() => vi.restoreAllMocks());

describe("createServiceApp", () => {
  it("runs a route with the identity context and the request id it carries", async () => {
    const ctx = identity(ORG_A);
    const res = await call("/whoami", { headers: { "x-request-id": "client-chosen-id" } }, ctx);
    expect(res.status).toBe(200);
    // Behind the gateway the context's id wins over any header.
    expect(res.headers.get("x-request-id")).toBe(ctx.request_id);
    expect(await res.json()).toEqual({ request_id: ctx.request_id, organization_id: ORG_A });
  });

  it("names the request id on every answer: its own JSON, a rendered error, one with immutable headers", async () => {
    const ctx = identity(ORG_A);
    for (const [path, status] of [
      ["/whoami", 200],
      ["/boom", 500],
      ["/nowhere", 404],
      ["/moved", 302],
    ] as const) {
      const res = await call(path, {}, ctx);
      expect(res.status).toBe(status);
      expect(res.headers.get("x-request-id")).toBe(ctx.request_id);
      await res.body?.cancel();
    }
    const moved = await call("/moved", {}, ctx);
    expect(moved.headers.get("location")).toBe("https://service.internal/items/1");
  });

  it("echoes a sane inbound x-request-id and replaces an unsafe one", async () => {
    const ok = await app.request("/whoami", { headers: { "x-request-id": "req-abc12345" } }, {});
    expect(ok.headers.get("x-request-id")).toBe("req-abc12345");
    expect((await ok.json<any>()).request_id).toBe("req-abc12345");

    const bad = await app.request("/whoami", { headers: { "x-request-id": "evil id\twith spaces" } }, {});
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const missing = await app.request("/nowhere", { headers: { "x-request-id": "req-abc12345" } }, {});
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe("req-abc12345");
    expect((await missing.json<any>()).request_id).toBe("req-abc12345");
  });

  it("answers schema violations with 422 and one error per field path", async () => {
    const res = await call("/items", json({ name: "", address: { city: 5 }, tags: ["ok", 3] }));
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = await res.json<any>();
    expect(problem).toMatchObject({ status: 422, title: "Unprocessable Content", detail: "The request does not match the schema." });
    expect(problem.errors.map((e: any) => e.path)).toEqual(["name", "address.city", "tags.1"]);
    for (const e of problem.errors) expect(typeof e.message === "string" && e.message.length > 0).toBe(true);

    // Parameters and query are prefixed with where they came from.
    const param = await (await call("/items/not-a-uuid")).json<any>();
    expect(param.errors.map((e: any) => e.path)).toEqual(["param.id"]);
    const query = await (await call(`/items/${crypto.randomUUID()}?limit=99`)).json<any>();
    expect(query.errors.map((e: any) => e.path)).toEqual(["query.limit"]);
    // A body of the wrong shape altogether.
    const root = await (await call("/items", json("just a string"))).json<any>();
    expect(root.errors.map((e: any) => e.path)).toEqual([""]);

    const id = crypto.randomUUID();
    const good = await call(`/items/${id}?limit=3`);
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ id });
  });

  it("answers unknown paths with 404 problem+json naming the client's path", async () => {
    const res = await call("/nowhere", { headers: { "x-forwarded-prefix": "/v1/tiny" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({
      type: "https://buildly.dev/problems/not-found",
      status: 404,
      detail: "No route matches GET /v1/tiny/nowhere.",
    });
  });

  it("answers a known path with another method with 405 and an Allow header", async () => {
    const onItems = await call("/items", { method: "DELETE" });
    expect(onItems.status).toBe(405);
    expect(onItems.headers.get("allow")).toBe("POST");
    expect(onItems.headers.get("content-type")).toBe("application/problem+json");
    expect(await onItems.json()).toMatchObject({ status: 405, title: "Method Not Allowed", detail: "DELETE is not allowed on /items. Allowed: POST." });

    const onItem = await call(`/items/${crypto.randomUUID()}`, { method: "PUT" });
    expect(onItem.status).toBe(405);
    expect(onItem.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers a trailing-slash variant of a route as unknown, not with a 405 that allows the method used", async () => {
    const res = await call(`/items/${crypto.randomUUID()}/`);
    expect(res.status).toBe(404);
    expect((await call("/items/", { method: "POST" })).status).toBe(404);
  });

  it("hides the message of an unexpected error behind an opaque 500, and logs it", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const path of ["/boom", "/boom-string"]) {
      const res = await call(path);
      expect(res.status, path).toBe(500);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const text = await res.text();
      expect(text).not.toContain("secret-token-7f3a");
      expect(text).not.toContain("D1_ERROR");
      expect(JSON.parse(text)).toMatchObject({ status: 500, title: "Internal Server Error", detail: "The server could not complete the request." });
    }
    // The cause is not lost: it goes to the log, not to the client.
    const lines = logged.mock.calls.map((args) => String(args[0]));
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.includes("secret-token-7f3a"))).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", service: "tiny", path: "/boom" });
  });

  it("logs an error's own code beside its name (a minified class name says nothing)", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    // As jose's errors: the class's (here minified) name, and a code.
    class t extends Error {
      code = "ERR_JWT_EXPIRED";
      override name = this.constructor.name;
    }
    logError("req-1", "tiny", new t('"exp" claim timestamp check failed'));
    logError("req-2", "tiny", Object.assign(new Error("plain"), { code: 42 }));
    const [first, second] = logged.mock.calls.map((args) => JSON.parse(String(args[0])).error);
    expect(first).toMatchObject({ name: "t", code: "ERR_JWT_EXPIRED", message: '"exp" claim timestamp check failed' });
    expect(second).not.toHaveProperty("code");
  });

  it("renders a 5xx ApiError of our own with its detail and headers, without logging it as unhandled", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await call("/unavailable");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("120");
    expect(await res.json()).toMatchObject({ status: 503, title: "Service Unavailable", detail: "Maintenance until 13:00 UTC." });
    expect(logged).not.toHaveBeenCalled();
  });
});

describe("handleWithContext", () => {
  it("refuses a call without a valid identity context with 401 and never runs the app", async () => {
    const before = whoamiRuns;
    for (const context of [undefined, null, {}, { request_id: "x" }, identity(""), { ...identity(), roles: "admin" }]) {
      const request = new Request("https://service.internal/whoami", { headers: { "x-request-id": "req-abc12345" } });
      const res = await handleWithContext(app, {}, createExecutionContext(), request, context);
      expect(res.status, JSON.stringify(context) ?? "undefined").toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("x-request-id")).toBe("req-abc12345");
      expect(await res.json()).toMatchObject({ status: 401, detail: "The call carries no valid identity context." });
    }
    expect(whoamiRuns).toBe(before);
    await call("/whoami");
    expect(whoamiRuns).toBe(before + 1);
  });
});

describe("jsonBody", () => {
  it("accepts JSON media types up to the limit", async () => {
    const body = { name: "n", address: { city: "c" }, tags: [] as string[] };
    const text = JSON.stringify(body);
    const padded = `${text.slice(0, -1) + " ".repeat(LIMIT - text.length)}}`;
    expect(new TextEncoder().encode(padded).byteLength).toBe(LIMIT);
    const res = await call("/items", { method: "POST", body: padded, headers: { "content-type": "application/json; charset=utf-8" } });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ name: "n" });
    const vendor = await call("/items", { method: "POST", body: text, headers: { "content-type": "application/vnd.api+json" } });
    expect(vendor.status).toBe(201);
  });

  it("answers 415 for other media types and 400 for malformed JSON", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
      const res = await call("/items", { method: "POST", body: "{}", headers: { "content-type": type } });
      expect(res.status, type).toBe(415);
    }
    expect((await call("/items", { method: "POST", body: "{}" })).status).toBe(415);
    const bad = await call("/items", { method: "POST", body: '{"name":', headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 400, detail: "The request body is not valid JSON." });
  });

  it("answers 413 for a declared Content-Length above the limit without reading the body", async () => {
    const { stream, state } = endlessStream();
    const res = await app.request(
      "/items",
      { method: "POST", body: stream, headers: { "content-type": "application/json", "content-length": String(LIMIT + 1) } },
      { IDENTITY: identity() },
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ status: 413, max_bytes: LIMIT });
    expect(state.pulls).toBeLessThanOrEqual(1);
  });

  it("answers 413 when a streamed body without Content-Length grows past the limit, and stops reading it (without cancelling it)", async () => {
    const { stream, state } = endlessStream();
    const res = await call("/items", { method: "POST", body: stream, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 413, title: "Content Too Large", max_bytes: LIMIT });
    // Left to the Worker that answers the client, which reads and drops the rest before its
    // answer (cancelling it made the runtime reset the client's connection: issue 17).
    expect(state.cancelled).toBe(false);
    expect(state.pulls).toBeLessThan(10);
  });

  it("does not trust a Content-Length that understates the body", async () => {
    const body = streamOf('{"name":"', "x".repeat(100), '","address":{"city":"c"},"tags":[]}');
    const res = await app.request(
      "/items",
      { method: "POST", body, headers: { "content-type": "application/json", "content-length": "10" } },
      { IDENTITY: identity() },
    );
    expect(res.status).toBe(413);
  });
});

describe("readTextLimited", () => {
  it("decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode('{"name":"Zoë 東京"}');
    const cut = bytes.indexOf(0xc3) + 1; // in the middle of "ë"
    const req = new Request("https://x/", { method: "POST", body: streamOf(bytes.slice(0, cut), bytes.slice(cut)) });
    expect(await readTextLimited(req, 1024)).toBe('{"name":"Zoë 東京"}');
  });

  it("reads an absent body as empty, and counts bytes rather than characters", async () => {
    expect(await readTextLimited(new Request("https://x/"), 10)).toBe("");
    // Four characters, twelve bytes.
    const err = await readTextLimited(new Request("https://x/", { method: "POST", body: streamOf("東京東京") }), 11).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(413);
    expect(await readTextLimited(new Request("https://x/", { method: "POST", body: streamOf("東京東京") }), 12)).toBe("東京東京");
  });
});
