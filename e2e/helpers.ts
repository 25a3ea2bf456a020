import { randomUUID } from "node:crypto";
import { ApiError, type Client, createClient, type Schema } from "@buildly/sdk";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect, inject } from "vitest";
// A type only: nothing of packages/shared runs in this Node suite.
import type { Problem } from "../packages/shared/src/errors";

export const DEMO_ORG = "00000000-0000-4000-8000-000000000001";
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function baseUrl(): string {
  return inject("baseUrl");
}

export const DEMO_ADMIN = "admin@demo.buildly.dev";
export const DEMO_PASSWORD = "buildly-demo-password";

/*
 * Every answer the suite sees is checked against the platform's own API document
 * (GET /openapi.json, fetched once): its status must be documented for that path and method,
 * its content type for that status, its JSON body must match the schema, and the headers the
 * document marks required must be there. A mismatch fails the test that made the call.
 *
 * Not checked, because the document cannot describe them:
 */
const NOT_IN_THE_DOCUMENT: { method?: string; path: RegExp; why: string }[] = [
  { path: /^\/docs(\/.*)?$/, why: "the docs page (HTML) and its static swagger-ui assets" },
  { path: /^\/console(\/.*)?$/, why: "the web console's page and files (workers/console)" },
  { path: /^\/\.well-known\/(jwks\.json|openid-configuration)$/, why: "JWKS (RFC 7517) and OpenID discovery: specified by those standards" },
  { method: "OPTIONS", path: /^\//, why: "CORS preflights, answered for every path by the CORS policy" },
];
/*
 * A path or method the document does not list at all (an unknown route, service or version,
 * or a method a path does not serve) must be a 404 or 405 problem+json matching Problem.
 */

type Doc = Record<string, any>;
interface Contract {
  doc: Doc;
  ajv: InstanceType<typeof Ajv2020>;
  routes: { template: string; pattern: RegExp; params: number }[];
  compiled: Map<string, ValidateFunction>;
}
const DOC_ID = "https://buildly.e2e/openapi.json";
let contract: Promise<Contract> | undefined;

function loadContract(): Promise<Contract> {
  contract ??= (async () => {
    const res = await fetch(`${baseUrl()}/openapi.json`);
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    const doc = (await res.json()) as Doc;
    // OpenAPI 3.1 schemas are JSON Schema 2020-12; the document is one schema resource, so its
    // own "#/components/..." references resolve inside it.
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(ajv);
    ajv.addSchema(doc, DOC_ID);
    const routes = Object.keys(doc.paths ?? {}).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`),
      params: (template.match(/\{/g) ?? []).length,
    }));
    // A literal segment wins over a parameter (/v1/users/me before /v1/users/{id}).
    routes.sort((a, b) => a.params - b.params);
    return { doc, ajv, routes, compiled: new Map() };
  })();
  return contract;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** A $ref inside the document, and where it points (a JSON pointer without the #). */
function deref(doc: Doc, node: Doc, at: string): { node: Doc; at: string } {
  for (let i = 0; i < 10 && typeof node?.$ref === "string"; i++) {
    at = node.$ref.slice(2);
    node = at.split("/").reduce((n: any, k: string) => n?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  return { node, at };
}

function mediaTypeMatches(documented: string, actual: string): boolean {
  if (documented === "*/*" || documented === actual) return true;
  return documented.endsWith("/*") && actual.startsWith(documented.slice(0, -1));
}

/** Why this answer disagrees with the document; [] when it agrees. */
async function disagreements(c: Contract, method: string, url: URL, res: Response): Promise<string[]> {
  const path = url.pathname;
  const route = c.routes.find((r) => r.pattern.test(path));
  const opMethod = method === "HEAD" ? "get" : method.toLowerCase();
  const op = route && c.doc.paths[route.template]?.[opMethod];
  const contentType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  let responseNode: Doc | undefined;
  let responseAt = "";
  if (!op) {
    if (res.status !== 404 && res.status !== 405) return [`${method} ${path} is not in the document, yet it answered ${res.status}`];
    ({ node: responseNode, at: responseAt } = {
      node: { content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } },
      at: "",
    });
  } else {
    const statuses = op.responses ?? {};
    const key = [String(res.status), `${String(res.status)[0]}XX`, "default"].find((k) => k in statuses);
    if (!key) return [`${res.status} is not documented for ${opMethod.toUpperCase()} ${route!.template} (documented: ${Object.keys(statuses).join(", ")})`];
    ({ node: responseNode, at: responseAt } = deref(c.doc, statuses[key], pointer("paths", route!.template, opMethod, "responses", key)));
  }
  const issues: string[] = [];
  const where = `${method} ${path} -> ${res.status}`;
  for (const [name, h] of Object.entries((responseNode?.headers ?? {}) as Record<string, Doc>)) {
    if (name.toLowerCase() === "content-type") continue;
    if (deref(c.doc, h, "").node?.required && !res.headers.has(name)) issues.push(`${where}: the required header ${name} is missing`);
  }
  const noBody = method === "HEAD" || res.status === 204 || res.status === 304;
  const content = (responseNode?.content ?? {}) as Record<string, Doc>;
  if (noBody) return issues;
  const documented = Object.keys(content).find((t) => mediaTypeMatches(t, contentType));
  const text = contentType === "" || /^application\/([\w.-]+\+)?json$/.test(contentType) ? await res.clone().text() : undefined;
  if (!Object.keys(content).length) {
    if (contentType || text) issues.push(`${where}: the document says no body, the answer has ${contentType || "one"}`);
    return issues;
  }
  if (!documented) return [...issues, `${where}: content type ${contentType || "(none)"} is not documented (documented: ${Object.keys(content).join(", ")})`];
  if (text === undefined || !content[documented]?.schema) return issues;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [...issues, `${where}: the body is not JSON: ${text.slice(0, 200)}`];
  }
  const ref = op
    ? `${DOC_ID}#/${pointer(...responseAt.split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~")), "content", documented, "schema")}`
    : `${DOC_ID}#/components/schemas/Problem`;
  let validate = c.compiled.get(ref);
  if (!validate) c.compiled.set(ref, (validate = c.ajv.compile({ $ref: ref })));
  if (!validate(body)) {
    const errors = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
    issues.push(`${where}: the body does not match ${ref.split("#")[1]}: ${errors.join("; ")}\n  body: ${text.slice(0, 500)}`);
  }
  return issues;
}

/** What checkedFetch would object to in `res`, as the answer to `method path` ([] = nothing). */
export async function contractIssues(method: string, path: string, res: Response): Promise<string[]> {
  return disagreements(await loadContract(), method.toUpperCase(), new URL(path, baseUrl()), res);
}

/**
 * The fetch every e2e call goes through: a plain fetch whose answer is checked against the
 * API document before the caller sees it (see NOT_IN_THE_DOCUMENT for what is not).
 */
export async function checkedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  const url = new URL(res.url || (input instanceof Request ? input.url : String(input)));
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  if (url.origin !== new URL(baseUrl()).origin) return res;
  if (NOT_IN_THE_DOCUMENT.some((s) => (!s.method || s.method === method) && s.path.test(url.pathname))) return res;
  const issues = await disagreements(await loadContract(), res.redirected ? "GET" : method, url, res);
  if (issues.length) throw new Error(`The answer disagrees with /openapi.json:\n- ${issues.join("\n- ")}`);
  return res;
}

/** A call to the gateway with no credentials. */
export function anon(path: string, init?: RequestInit): Promise<Response> {
  return checkedFetch(baseUrl() + path, init);
}

/** Tokens by email, from the password grant, as a client would hold them. */
const tokens = new Map<string, Promise<string>>();

export async function passwordToken(email: string, password = DEMO_PASSWORD): Promise<string> {
  const res = await anon("/v1/auth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: email, password }).toString(),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

export function tokenFor(email: string, password = DEMO_PASSWORD): Promise<string> {
  let t = tokens.get(email);
  if (!t) {
    t = passwordToken(email, password);
    tokens.set(email, t);
  }
  return t;
}

/** A call to the gateway as the demo organization's admin (unless the call brings its own Authorization). */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${await tokenFor(DEMO_ADMIN)}`);
  return checkedFetch(baseUrl() + path, { ...init, headers });
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

export function patchJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { method: "PATCH", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

// The platform's problem body, as packages/shared writes it.
export type { Problem };

/** Asserts an RFC 9457 answer with the platform's fields, its request_id the one on the response. */
export async function expectProblem(res: Response, status: number): Promise<Problem> {
  const text = await res.text();
  expect(res.status, `expected ${status}, got ${res.status}: ${text}`).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json\b/);
  const body = JSON.parse(text) as Problem;
  expect(body).toMatchObject({
    type: expect.stringMatching(/^https?:\/\/\S+$/),
    title: expect.stringMatching(/\S/),
    status,
    detail: expect.stringMatching(/\S/),
    request_id: expect.stringMatching(/\S/),
  });
  expect(res.headers.get("x-request-id")).toBe(body.request_id);
  return body;
}

/** A value no earlier run used, so tests never depend on what is already in the state. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Every item of a paginated collection, following next_cursor. */
export async function listAll<T = Record<string, unknown>>(path: string, limit = 100): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await api(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: T[]; next_cursor: string | null };
    items.push(...body.data);
    cursor = body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error(`${path} did not stop paginating`);
}

/**
 * Sends a request until the client reads an answer, for requests the server may answer before
 * it has read the whole body (then the connection can be cut while the client still writes).
 * Only transport errors are retried; every answer is returned as is.
 */
export async function untilAnswered(send: () => Promise<Response>, attempts = 5): Promise<Response> {
  const errors: unknown[] = [];
  for (let i = 0; i < attempts; i++) {
    try {
      return await send();
    } catch (err) {
      errors.push((err as { cause?: unknown }).cause ?? err);
    }
  }
  throw new Error(`No answer in ${attempts} attempts: ${errors.map(String).join("; ")}`);
}

/** A new organization registered over the API; its owner (an admin) and a token for them. */
export async function registerOrg(name: string, password = "a long enough password", prefix = "owner") {
  const email = `${unique(prefix)}@e2e.example`;
  const res = await anon("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, name: "Owner", organization_name: name }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { user: { id: string }; organization: { id: string } };
  return { email, user_id: body.user.id, organization_id: body.organization.id, token: await passwordToken(email, password) };
}
export type RegisteredOrg = Awaited<ReturnType<typeof registerOrg>>;

/*
 * The SDK (packages/sdk), as the suite calls the platform: answers are checked against
 * /openapi.json (checkedFetch) and never retried, so a test sees exactly what the platform
 * answered. Raw fetch stays only where a test sends malformed requests on purpose.
 */
let demoAdmin: Client | undefined;

/** The SDK as the demo organization's admin, or as the holder of `token`. */
export function sdk(token?: string): Client {
  if (token) return createClient({ baseUrl: baseUrl(), auth: { type: "token", token }, fetch: checkedFetch, retries: 0 });
  demoAdmin ??= createClient({
    baseUrl: baseUrl(),
    auth: { type: "password", username: DEMO_ADMIN, password: DEMO_PASSWORD },
    fetch: checkedFetch,
    retries: 0,
  });
  return demoAdmin;
}

/** Asserts that a call rejects with an ApiError of this status carrying the platform's problem fields. */
export async function expectApiError(call: Promise<unknown>, status: number): Promise<ApiError> {
  const err = await call.then(
    (data) => new Error(`expected ${status}, the call succeeded: ${JSON.stringify(data)}`),
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw err;
  expect(err.status, `expected ${status}, got ${err.status}: ${err.message}`).toBe(status);
  expect(err.response.headers.get("content-type")).toMatch(/^application\/problem\+json\b/);
  expect(err.problem).toMatchObject({
    type: expect.stringMatching(/^https?:\/\/\S+$/),
    title: expect.stringMatching(/\S/),
    status,
    detail: expect.stringMatching(/\S/),
    request_id: expect.stringMatching(/\S/),
  });
  expect(err.response.headers.get("x-request-id")).toBe(err.requestId);
  return err;
}

/** A two-state workflow template ("open" ticks to itself, "close" ends it), named uniquely; `extra` goes on the open state. */
export const counterTemplate = (extra: Partial<Schema<"WorkflowState">> = {}) =>
  ({
    name: unique("counter"),
    initial_state: "open",
    states: [
      { key: "open", name: "Open", ...extra },
      { key: "closed", name: "Closed", terminal: true },
    ],
    transitions: [
      { key: "tick", name: "Tick", from: ["open"], to: "open" },
      { key: "close", name: "Close", from: ["open"], to: "closed" },
    ],
  }) satisfies Schema<"WorkflowTemplateInput">;
