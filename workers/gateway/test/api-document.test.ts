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
const proxied = (p: string) => /^\/v1\/(crm|documents|appointments)(\/|$)/.test(p);
const secured = (op: Doc) => (op.security ?? doc.security).length > 0;

describe("the API document says what the gateway answers", () => {
  it("every operation that needs a token accepts the same schemes: a bearer token or the OAuth2 flows (the docs page's Authorize)", () => {
    expect(doc.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["bearerAuth", "oauth2"]);
    const secured = operations((p) => p.startsWith("/v1/")).filter(({ op }) => (op.security ?? doc.security).length > 0);
    expect(secured.some(({ path }) => proxied(path))).toBe(true);
    for (const { path, method, op } of secured) expect(op.security ?? doc.security, `${method} ${path}`).toEqual(doc.security);
  });

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

  it("documents join only where the gateway accepts it, with the keys of that operation's model, and a pattern that is what it enforces", () => {
    const joinOf = (op: Doc) => {
      const ref = (op.parameters ?? []).map((p: Doc) => p.$ref).find((r: string | undefined) => r?.startsWith("#/components/parameters/MeshJoin"));
      return ref ? (doc.components.parameters[ref.split("/").pop()] as Doc) : undefined;
    };
    const expected: Record<string, string[]> = {
      "get /v1/crm/contacts": ["appointments", "documents", "company", "deals"],
      "post /v1/crm/contacts": ["appointments", "documents", "company", "deals"],
      "get /v1/crm/contacts/{id}": ["appointments", "documents", "company", "deals"],
      "patch /v1/crm/contacts/{id}": ["appointments", "documents", "company", "deals"],
      "get /v1/crm/deals": ["contact"],
      "get /v1/crm/companies/{id}": ["contacts"],
      "get /v1/documents/files": ["contacts"],
      "get /v1/appointments/appointments/{id}": ["contacts"],
    };
    for (const [where, keys] of Object.entries(expected)) {
      const [method, path] = where.split(" ") as [string, string];
      const param = joinOf(doc.paths[path][method]);
      expect(param?.example, where).toBe(keys.join(","));
      for (const k of keys) expect(param?.description, where).toContain(`\`${k}\``);
    }
    // Never where it is always refused: file content and versions, availability, the calendar feed, openapi.json, DELETE.
    const joined = operations(proxied).filter(({ op }) => joinOf(op));
    expect(joined.length).toBeGreaterThan(10);
    for (const { path, method } of operations(proxied)) {
      const refused =
        method === "delete" ||
        method === "put" ||
        /\/(content|versions|availability|feed[^/]*|openapi\.json)(\/|$)/.test(path) ||
        /\{[^}]+\}\/./.test(path.replace(/^\/v1\/[a-z]+/, ""));
      if (refused) expect(joinOf(doc.paths[path][method]), `${method} ${path}`).toBeUndefined();
    }
    // A calendar has no relationship of the platform's: join is documented (an organization may add one) without an example.
    expect(joinOf(doc.paths["/v1/appointments/calendars"].post)?.example).toBeUndefined();
    const pattern = new RegExp(joinOf(doc.paths["/v1/crm/contacts"].get)!.schema.pattern);
    for (const ok of ["documents", "a,b,c,d,e", "deal_files"]) expect(pattern.test(ok), ok).toBe(true);
    for (const bad of ["", "a,b,c,d,e,f", "a,,b", " a", "A"]) expect(pattern.test(bad), bad).toBe(false);
  });
});
