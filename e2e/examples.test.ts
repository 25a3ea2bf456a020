import { beforeAll, describe, expect, it } from "vitest";
import { anon, api, baseUrl, checkedFetch, registerOrg } from "./helpers";

type Doc = Record<string, any>;

/*
 * The document's own examples are requests the platform must accept: each operation that has a
 * request body example or parameter examples is sent once with all of them (path, query and header
 * parameters, and the JSON body), and must not be refused as invalid (400 or 422) nor fail (5xx).
 * A 404 (an example id that names no record), 403 or 409 says the request was understood.
 *
 * The examples name the demo organization's records, so service, mesh, workflow and event
 * operations are sent as the demo admin. The operations that administer an organization (its
 * settings, users, roles, clients, invitations, webhooks, relationships) are sent as the owner of
 * a new organization, so their examples change nothing the other tests read; what the others
 * create in the demo organization is deleted afterwards where the document has a DELETE for it.
 */
const ADMINISTRATION = /^\/v1\/(auth|organizations|users|roles|clients|invitations|webhooks|mesh\/relationships|workflows\/templates)(\/|$)/;
/** Not sent: the answer is not a request/response exchange (a WebSocket upgrade). */
const NOT_SENT = /\/events$/;
const METHODS = ["get", "post", "put", "patch", "delete"];
/**
 * Understood, but answered by a server outside the platform: connecting an identity provider
 * fetches its discovery document, and the example's issuer (a made-up Okta tenant) is not on a
 * network this suite can reach. Such an answer must be the 422 naming `issuer`, nothing else.
 */
const OUTSIDE = { method: "POST", template: "/v1/organizations/current/identity-providers", field: "issuer" };

const deref = (doc: Doc, node: Doc): Doc =>
  node?.$ref
    ? deref(
        doc,
        node.$ref
          .slice(2)
          .split("/")
          .reduce((n: Doc, k: string) => n?.[k], doc),
      )
    : node;

function exampleOf(doc: Doc, holder: Doc): unknown {
  if (holder.example !== undefined) return holder.example;
  const first = Object.values((holder.examples ?? {}) as Record<string, Doc>)[0];
  if (first) return deref(doc, first).value;
  const schema = holder.schema && deref(doc, holder.schema);
  return schema?.example ?? schema?.examples?.[0];
}

interface Example {
  method: string;
  template: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body?: unknown;
}

function examples(doc: Doc): Example[] {
  const out: Example[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Doc>)) {
    for (const method of METHODS) {
      const op = item[method] as Doc | undefined;
      if (!op || NOT_SENT.test(template)) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: Doc) => deref(doc, p));
      const query = new URLSearchParams();
      const headers: Record<string, string> = {};
      let path = template;
      let has = false;
      let complete = true;
      for (const p of params) {
        const value = exampleOf(doc, p);
        if (value === undefined) {
          if (p.in === "path" || p.required) complete = false;
          continue;
        }
        has = true;
        if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(String(value)));
        else if (p.in === "query") query.set(p.name, String(value));
        else if (p.in === "header") headers[p.name] = String(value);
      }
      const content = op.requestBody ? (deref(doc, op.requestBody).content ?? {}) : {};
      const json = content["application/json"];
      const body = json ? exampleOf(doc, json) : undefined;
      if (body !== undefined) has = true;
      // A required body we cannot send from an example (none, or not JSON): the operation is left out.
      if (op.requestBody && deref(doc, op.requestBody).required && body === undefined) complete = false;
      if (has && complete) out.push({ method: method.toUpperCase(), template, path, query, headers, body });
    }
  }
  return out;
}

describe("the API document's own examples", () => {
  let doc: Doc;
  let owner: Awaited<ReturnType<typeof registerOrg>>;
  beforeAll(async () => {
    doc = (await (await anon("/openapi.json")).json()) as Doc;
    owner = await registerOrg("Examples");
  }, 60_000);

  it("are accepted: no 400 or 422 (nor 5xx) for any operation's request body and parameter examples", async () => {
    const sent = examples(doc);
    expect(sent.length).toBeGreaterThan(60);
    // Bodies and parameters both (the document has both kinds).
    expect(sent.some((e) => e.body !== undefined)).toBe(true);
    expect(sent.some((e) => e.query.has("join"))).toBe(true);
    const refused: string[] = [];
    const created: string[] = [];
    for (const e of sent) {
      const url = `${e.path}${e.query.size ? `?${e.query}` : ""}`;
      const headers: Record<string, string> = { ...e.headers, ...(e.body !== undefined ? { "content-type": "application/json" } : {}) };
      const init: RequestInit = { method: e.method, headers, body: e.body !== undefined ? JSON.stringify(e.body) : undefined };
      let res: Response;
      try {
        res = ADMINISTRATION.test(e.template)
          ? await checkedFetch(baseUrl() + url, { ...init, headers: { ...headers, authorization: `Bearer ${owner.token}` } })
          : await api(url, init);
      } catch (err) {
        refused.push(`${e.method} ${url}: ${(err as Error).message}`);
        continue;
      }
      if (res.status === 422 && e.method === OUTSIDE.method && e.template === OUTSIDE.template) {
        const problem = (await res.clone().json()) as { errors?: { path: string }[] };
        if (problem.errors?.length === 1 && problem.errors[0]!.path === OUTSIDE.field) continue;
      }
      if (res.status === 400 || res.status === 422 || res.status >= 500) {
        refused.push(`${e.method} ${url} ${JSON.stringify(e.body ?? null).slice(0, 200)} -> ${res.status} ${(await res.text()).slice(0, 400)}`);
      } else if (res.status === 201 && e.method === "POST" && !ADMINISTRATION.test(e.template) && doc.paths[`${e.template}/{id}`]?.delete) {
        const id = ((await res.json()) as { id?: string }).id;
        if (id) created.push(`${e.path}/${id}`);
      }
    }
    // Query parameters an operation does not document are ignored, on every operation alike.
    const unknown: string[] = [];
    for (const e of sent.filter((x) => x.method === "GET")) {
      const query = `?${e.query.size ? `${e.query}&` : ""}`;
      const send = (url: string) =>
        ADMINISTRATION.test(e.template)
          ? checkedFetch(baseUrl() + url, { headers: { ...e.headers, authorization: `Bearer ${owner.token}` } })
          : api(url, { headers: e.headers });
      const [plain, extra] = [await send(`${e.path}${query}`), await send(`${e.path}${query}not_a_parameter=1`)];
      if (plain.status !== extra.status) unknown.push(`GET ${e.path}${query}not_a_parameter=1 -> ${extra.status}, without it ${plain.status}`);
    }
    expect(unknown, unknown.join("\n")).toEqual([]);
    for (const path of created.reverse()) expect([204, 404], path).toContain((await api(path, { method: "DELETE" })).status);
    expect(refused, refused.join("\n")).toEqual([]);
  }, 240_000);
});
