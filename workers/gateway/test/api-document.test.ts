import { beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers";

type Doc = Record<string, any>;
const METHODS = ["get", "put", "post", "delete", "patch"];

let doc: Doc;
beforeAll(async () => {
  doc = await (await call("/openapi.json")).json<Doc>();
});

function operations(filter: (path: string) => boolean) {
  const out: { path: string; method: string; op: Doc }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
    if (!filter(path)) continue;
    for (const method of METHODS) if (item[method]) out.push({ path, method, op: item[method] });
  }
  expect(out.length).toBeGreaterThan(0);
  return out;
}

/** A response of the document, $ref resolved. */
function response(op: Doc, status: string): Doc | undefined {
  let r = op.responses?.[status];
  if (r?.$ref)
    r = r.$ref
      .slice(2)
      .split("/")
      .reduce((n: any, k: string) => n?.[k], doc);
  return r;
}
function headerOf(r: Doc, name: string): Doc | undefined {
  const h = r.headers?.[name];
  return h?.$ref
    ? h.$ref
        .slice(2)
        .split("/")
        .reduce((n: any, k: string) => n?.[k], doc)
    : h;
}
/** A calendar's secret feed URL is under the appointments prefix but answered by the gateway itself. */
const FEED_URL = "/v1/appointments/feeds/{token}.ics";
const proxied = (p: string) => /^\/v1\/(crm|documents|appointments)(\/|$)/.test(p) && p !== FEED_URL;
const secured = (op: Doc) => (op.security ?? doc.security).length > 0;

describe("the API document says what the gateway answers", () => {
  it("GET /v1/services answers without a token and is documented so", async () => {
    expect((await call("/v1/services")).status).toBe(200);
    expect(doc.paths["/v1/services"].get.security).toEqual([]);
  });

  it("documents 429 (with Retry-After and the RateLimit headers) and 503 on every /v1 operation, gateway-own and proxied", () => {
    for (const { path, method, op } of operations((p) => p.startsWith("/v1/"))) {
      const limited = response(op, "429");
      expect(limited?.content?.["application/problem+json"], `${method} ${path}`).toBeDefined();
      // Required wherever the 429 is the gateway's alone (the token endpoint's has two answers).
      expect(headerOf(limited!, "Retry-After")?.required, `${method} ${path}`).toBe(path !== "/v1/auth/token");
      for (const h of ["RateLimit", "RateLimit-Policy"]) expect(headerOf(limited!, h), `${method} ${path} ${h}`).toBeDefined();
      expect(response(op, "503")?.content?.["application/problem+json"], `${method} ${path}`).toBeDefined();
    }
  });

  it("documents X-Request-Id on every answer, and Cache-Control and RateLimit on every answer under /v1", () => {
    for (const { path, method, op } of operations(() => true)) {
      for (const status of Object.keys(op.responses)) {
        const r = response(op, status)!;
        expect(headerOf(r, "X-Request-Id"), `${method} ${path} ${status}`).toBeDefined();
        expect(headerOf(r, "Cache-Control"), `${method} ${path} ${status}`).toBeDefined();
        if (path.startsWith("/v1/")) expect(headerOf(r, "RateLimit"), `${method} ${path} ${status}`).toBeDefined();
      }
    }
  });

  it("documents 401 with its WWW-Authenticate challenge wherever a token is needed", () => {
    for (const { path, method, op } of operations((p) => p.startsWith("/v1/"))) {
      if (!secured(op)) continue;
      const r = response(op, "401");
      expect(r?.content?.["application/problem+json"], `${method} ${path}`).toBeDefined();
      expect(headerOf(r!, "WWW-Authenticate")?.required, `${method} ${path}`).toBe(true);
    }
  });

  it("documents the secret calendar feed URL without security, with its own answers and none of the proxy's 401/403", () => {
    const op = doc.paths[FEED_URL].get;
    expect(op.security).toEqual([]);
    expect(Object.keys(doc.paths[FEED_URL])).toEqual(["get"]);
    expect(Object.keys(op.responses).sort()).toEqual(["200", "404", "405", "429", "502", "503", "504"]);
    expect(op.responses["200"].content["text/calendar"]).toBeDefined();
    expect(op.parameters).toContainEqual(expect.objectContaining({ name: "token", in: "path", required: true }));
    const rotate = doc.paths["/v1/appointments/calendars/{id}/feed-url"].post;
    expect(rotate.responses["201"].content["application/json"].schema).toBeDefined();
    expect(rotate.security?.length ?? doc.security.length).toBeGreaterThan(0);
    expect(doc.paths["/v1/appointments/calendars/{id}/feed-url/revoke"].post.responses["204"]).toBeDefined();
  });

  it("adds the gateway's own answers to every proxied operation, as shared components", () => {
    for (const { path, method, op } of operations(proxied)) {
      const where = `${method} ${path}`;
      for (const s of ["401", "403", "429", "502", "503", "504"]) expect(op.responses[s], `${where} ${s}`).toBeDefined();
      expect(op.responses["502"].$ref, where).toBe("#/components/responses/GatewayBadGateway");
      if (method !== "get") expect(op.responses["413"], `${where} 413`).toBeDefined();
      if (method === "post" || method === "patch") {
        for (const s of ["400", "409", "422"]) expect(op.responses[s], `${where} ${s}`).toBeDefined();
        expect(op.parameters, where).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
        const ok = Object.keys(op.responses).find((s) => s.startsWith("2"))!;
        expect(headerOf(response(op, ok)!, "Idempotent-Replayed"), where).toBeDefined();
      }
    }
    expect(doc.components.schemas.Problem).toBeDefined();
    expect(doc.components.headers["Retry-After"].required).toBe(true);
  });

  it("documents the JSON body guard's 400, 413, 415 and 422 on the gateway's own JSON routes", () => {
    for (const { path, method, op } of operations((p) => p.startsWith("/v1/") && !proxied(p))) {
      const types = Object.keys(op.requestBody?.content ?? {});
      if (types.length !== 1 || types[0] !== "application/json") continue;
      for (const s of ["400", "413", "415", "422"]) expect(response(op, s)?.content?.["application/problem+json"], `${method} ${path} ${s}`).toBeDefined();
    }
  });

  it("documents both 429s of the token endpoint: the account's OAuth error and the gateway's problem", () => {
    const limited = doc.paths["/v1/auth/token"].post.responses["429"];
    expect(Object.keys(limited.content).sort()).toEqual(["application/json", "application/problem+json"]);
    // The gateway's own 429 there comes from the rate-limit middleware that answers problem+json on every
    // /v1 route (see rate-limit.test.ts); the account's comes from the token endpoint, in OAuth's format.
    expect(limited.content["application/json"].schema.$ref).toBe("#/components/schemas/OAuthError");
  });

  it("documents each service's own document under its prefix, and this document itself", () => {
    expect(doc.paths["/v1/crm/openapi.json"].get.operationId).toBe("crm_getOpenApi");
    expect(doc.paths["/openapi.json"].get.security).toEqual([]);
  });
});
