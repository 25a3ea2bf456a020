import { createExecutionContext } from "cloudflare:test";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { createServiceApp, jsonBody } from "../src/app";
import { IdParamSchema } from "../src/ids";
import { lazyRoutes, type RouteList } from "../src/lazy-routes";
import { registerMeta } from "../src/meta";
import { identity } from "../src/test";

/*
 * lazyRoutes against the same groups registered eagerly: the same answers (validation, 422s,
 * 404/405, params, the error handler), the same OpenAPI document, a group built only when one of
 * its routes is asked for, and a route list that drifts from its group refused.
 */

type App = OpenAPIHono<never>;

function registerItems(app: App) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/items/{id}",
      request: { params: IdParamSchema, query: z.object({ limit: z.coerce.number().int().max(10).optional() }) },
      responses: {
        200: { description: "ok", content: { "application/json": { schema: z.object({ id: z.string(), limit: z.number().optional() }).openapi("Item") } } },
      },
    }),
    (c) => c.json({ id: c.req.valid("param").id, limit: c.req.valid("query").limit }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/items",
      middleware: [jsonBody(64)] as const,
      request: { body: { required: true, content: { "application/json": { schema: z.object({ name: z.string().min(1) }).openapi("ItemCreate") } } } },
      responses: { 201: { description: "created", content: { "application/json": { schema: z.object({ name: z.string() }) } } } },
    }),
    (c) => c.json({ name: c.req.valid("json").name }, 201),
  );
}

function registerBoxes(app: App) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/boxes/{id}",
      request: { params: IdParamSchema },
      responses: { 200: { description: "ok", content: { "application/json": { schema: z.object({ box: z.string() }).openapi("Box") } } } },
    }),
    (c) => {
      if (c.req.valid("param").id.startsWith("00000000")) throw new Error("secret internals");
      return c.json({ box: c.req.routePath }, 200);
    },
  );
}

const ITEMS: RouteList = [
  ["get", "/items/{id}"],
  ["post", "/items"],
];
const BOXES: RouteList = [["get", "/boxes/{id}"]];
const INFO = { title: "Tiny", description: "A tiny service." };

function eagerApp() {
  const app = createServiceApp<Record<string, never>>("tiny");
  registerItems(app as never);
  registerBoxes(app as never);
  registerMeta(app, INFO);
  return app;
}

function lazyApp(loaded: string[] = [], items: RouteList = ITEMS) {
  const app = createServiceApp<Record<string, never>>("tiny");
  lazyRoutes(app, items, async () => {
    loaded.push("items");
    return registerItems as never;
  });
  lazyRoutes(app, BOXES, async () => {
    loaded.push("boxes");
    return registerBoxes as never;
  });
  registerMeta(app, INFO);
  return app;
}

const ID = "3f1e6f8a-0b7c-4d2e-9f10-2a3b4c5d6e7f";
const REQUESTS: [string, string, RequestInit?][] = [
  ["GET", `/items/${ID}?limit=3`],
  ["GET", `/items/${ID}?limit=30`],
  ["GET", "/items/not-a-uuid"],
  ["POST", "/items", { body: JSON.stringify({ name: "x" }), headers: { "content-type": "application/json" } }],
  ["POST", "/items", { body: JSON.stringify({ name: "" }), headers: { "content-type": "application/json" } }],
  ["POST", "/items", { body: "{", headers: { "content-type": "application/json" } }],
  ["POST", "/items", { body: "x".repeat(100), headers: { "content-type": "application/json" } }],
  ["POST", "/items", { body: "{}", headers: { "content-type": "text/plain" } }],
  ["DELETE", `/items/${ID}`],
  ["HEAD", `/items/${ID}`],
  ["GET", `/boxes/${ID}`],
  ["GET", "/boxes/00000000-0000-4000-8000-000000000000"],
  ["PUT", `/boxes/${ID}`],
  ["GET", "/nothing"],
];

async function answer(
  app: { fetch: (r: Request, env: never, ctx: ExecutionContext) => Response | Promise<Response> },
  [method, path, init]: (typeof REQUESTS)[number],
) {
  const res = await app.fetch(new Request(`http://tiny${path}`, { method, ...init }), { IDENTITY: identity() } as never, createExecutionContext());
  const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== "x-request-id"));
  const body = (await res.text()).replace(/"request_id":"[^"]*"/, "");
  return { status: res.status, headers, body };
}

describe("lazyRoutes", () => {
  it("answers every request exactly as the eagerly registered groups do", async () => {
    const eager = eagerApp();
    const lazy = lazyApp();
    for (const req of REQUESTS) expect(await answer(lazy, req), `${req[0]} ${req[1]}`).toEqual(await answer(eager, req));
  });

  it("builds a group on the first request to one of its routes, and no other group", async () => {
    const loaded: string[] = [];
    const app = lazyApp(loaded);
    expect(loaded).toEqual([]);
    expect((await answer(app, ["GET", `/boxes/${ID}`])).status).toBe(200);
    expect(loaded).toEqual(["boxes"]);
    await answer(app, ["GET", `/boxes/${ID}`]);
    expect((await answer(app, ["PUT", `/items/${ID}`])).status).toBe(405);
    expect(loaded).toEqual(["boxes"]);
    await Promise.all([answer(app, ["GET", `/items/${ID}`]), answer(app, ["GET", `/items/${ID}`])]);
    expect(loaded).toEqual(["boxes", "items"]);
  });

  it("serves the same OpenAPI document, whichever group loaded first", async () => {
    const expected = await answer(eagerApp(), ["GET", "/openapi.json"]);
    expect(JSON.parse(expected.body).components.schemas).toHaveProperty("Box");
    const cold = lazyApp();
    expect(await answer(cold, ["GET", "/openapi.json"])).toEqual(expected);
    const warm = lazyApp();
    await answer(warm, ["GET", `/boxes/${ID}`]);
    expect(await answer(warm, ["GET", "/openapi.json"])).toEqual(expected);
    expect(await answer(warm, ["GET", "/openapi.json"])).toEqual(expected);
  });

  it("refuses a route list that differs from what the group registers (500, no detail), and keeps refusing", async () => {
    for (const list of [ITEMS.slice(0, 1), [ITEMS[1]!, ITEMS[0]!], [...ITEMS, ["delete", "/items/{id}"]] as RouteList]) {
      const app = lazyApp([], list);
      for (let i = 0; i < 2; i++) {
        const res = await answer(app, ["GET", `/items/${ID}`]);
        expect(res.status).toBe(500);
        expect(res.body).not.toContain("lazy route group");
      }
    }
  });
});
