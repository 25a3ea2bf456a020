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

  it("documents join only where the gateway accepts it, with the keys of that operation's model, and a pattern that is what it enforces", () => {
    const joinOf = (op: Doc) => {
      const ref = (op.parameters ?? []).map((p: Doc) => p.$ref).find((r: string | undefined) => r?.startsWith("#/components/parameters/MeshJoin"));
      return ref ? (doc.components.parameters[ref.split("/").pop()] as Doc) : undefined;
    };
    const expected: Record<string, string[]> = {
      "get /v1/crm/contacts": ["appointments", "documents", "company", "deals", "consents"],
      "post /v1/crm/contacts": ["appointments", "documents", "company", "deals", "consents"],
      "get /v1/crm/contacts/{id}": ["appointments", "documents", "company", "deals", "consents"],
      "patch /v1/crm/contacts/{id}": ["appointments", "documents", "company", "deals", "consents"],
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

  it("states the constraints the server enforces (what the contract fuzz found refused but allowed by the schemas)", () => {
    const schemas = doc.components.schemas;
    for (const name of ["UserUpdate", "OrganizationUpdate", "WebhookPatch"]) expect(schemas[name].minProperties, name).toBe(1);
    // Every email and date-time the document names carries the rule zod applies.
    const nodes: Doc[] = [];
    const walk = (n: any) => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === "object") {
        nodes.push(n);
        Object.values(n).forEach(walk);
      }
    };
    walk([doc.paths, schemas]);
    const emails = nodes.filter((n) => n.format === "email");
    expect(emails.length).toBeGreaterThan(3);
    for (const e of emails) {
      expect(new RegExp(e.pattern).test("0@com")).toBe(false);
      expect(new RegExp(e.pattern).test("ada@analytical.example")).toBe(true);
    }
    // Request timestamps: every date-time a client sends has its pattern (UTC-only ones refuse +21:22).
    const sent = JSON.stringify([Object.values(doc.paths).flatMap((item: any) => Object.values(item).map((op: any) => [op?.parameters, op?.requestBody]))]);
    const unstated = [...sent.matchAll(/"format":"date-time"(?![^{}]*"pattern")/g)].map((m) => sent.slice(m.index - 150, m.index + 150));
    expect(unstated).toEqual([]);
    const utc = nodes.find((n) => n.format === "date-time" && n.pattern && !new RegExp(n.pattern).test("2026-01-01T00:00:00+21:22"));
    expect(utc).toBeDefined();
    expect(new RegExp(utc!.pattern).test("2026-01-01T00:00:00.000Z")).toBe(true);
    // Integer maxima: from_seq (zod takes safe integers only) and this deployment's rate-limit maximums.
    const verify = doc.paths["/v1/audit/verify"].get.parameters.find((p: Doc) => p.name === "from_seq");
    expect(verify.schema.maximum).toBe(Number.MAX_SAFE_INTEGER);
    const limits = schemas.OrganizationUpdate.properties.rate_limits.properties;
    for (const scope of ["user", "client", "organization"]) expect(limits[scope].properties.limit.maximum, scope).toBeGreaterThan(0);
    // minLength of cursors and of the revoke token; the webhook URL; role permission keys; search models; Idempotency-Key.
    expect(doc.paths["/v1/users"].get.parameters.find((p: Doc) => p.name === "cursor").schema.minLength).toBe(1);
    expect(doc.paths["/v1/mesh/search"].get.parameters.find((p: Doc) => p.name === "cursor").schema.minLength).toBe(1);
    expect(schemas.RevokeRequest.properties.token.minLength).toBe(1);
    const url = schemas.WebhookInput.properties.url;
    expect(url.format).toBe("uri");
    expect(new RegExp(url.pattern).test("http://hooks.example.com/x")).toBe(false);
    expect(new RegExp(url.pattern).test("https:x")).toBe(false);
    expect(new RegExp(url.pattern).test("https://hooks.example.com/x")).toBe(true);
    expect(schemas.RolePermissionsInput.propertyNames.enum).toEqual(expect.arrayContaining(["*", "crm", "documents", "appointments"]));
    expect(schemas.RolePermissionsInput.propertyNames.enum).not.toContain("nope");
    const models = new RegExp(doc.paths["/v1/mesh/search"].get.parameters.find((p: Doc) => p.name === "models").schema.pattern);
    expect(models.test("crm.contacts,documents.files")).toBe(true);
    expect(models.test("contacts")).toBe(false);
    // Where the server trims before min(1), a string of blanks only is refused: the schema says so (gateway and services).
    for (const named of [
      schemas.OrganizationUpdate.properties.name,
      schemas.Crm_CompanyCreate.properties.name,
      schemas.Appointments_CalendarCreate.properties.name,
    ]) {
      expect(named.pattern).toBe("\\S");
      expect(new RegExp(named.pattern).test(" \t ")).toBe(false);
    }
    const key = new RegExp(doc.components.parameters.IdempotencyKey.schema.pattern);
    for (const ok of ["abc", '"abc"', '"', 'a"b']) expect(key.test(ok), ok).toBe(true);
    for (const bad of ["", '""', "a b", "x".repeat(256), `"${"x".repeat(256)}"`]) expect(key.test(bad), bad).toBe(false);
  });
});
