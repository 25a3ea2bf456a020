import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { api, baseUrl } from "./helpers";

type Doc = Record<string, any>;

const SERVICES = { crm: "Crm", documents: "Documents", appointments: "Appointments" } as const;
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function operations(doc: Doc): { path: string; method: string; op: Doc }[] {
  const out: { path: string; method: string; op: Doc }[] = [];
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Doc>)) {
    for (const method of HTTP_METHODS) if (item[method]) out.push({ path, method, op: item[method] });
  }
  return out;
}

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe("GET /openapi.json: one OpenAPI 3.1 document for the platform", () => {
  let doc: Doc;
  beforeAll(async () => {
    const res = await api("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = (await res.json()) as Doc;
  });

  it("is valid according to @seriousme/openapi-schema-validator", async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("has every service's paths under /v1/<service> next to the gateway's own", () => {
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(expect.arrayContaining(["/health", "/v1/services", "/v1/crm/contacts", "/v1/crm/contacts/{id}"]));
    for (const service of Object.keys(SERVICES)) {
      expect(
        paths.some((p) => p.startsWith(`/v1/${service}/`)),
        service,
      ).toBe(true);
    }
    expect(paths).toEqual(expect.arrayContaining(["/v1/documents/files", "/v1/documents/files/{id}/content", "/v1/appointments/calendars"]));
    // Nothing of a service is left at its own root.
    for (const p of paths) expect(p === "/health" || p === "/openapi.json" || p.startsWith("/v1/"), p).toBe(true);
  });

  it("has one operationId per operation, all distinct", () => {
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(10);
    const ids = ops.map((o) => o.op.operationId);
    for (const o of ops) expect(typeof o.op.operationId, `${o.method} ${o.path}`).toBe("string");
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("namespaces every service's components, and every $ref resolves", async () => {
    const schemas = doc.components.schemas as Record<string, unknown>;
    for (const [service, ns] of Object.entries(SERVICES)) {
      const own = (await (await api(`/v1/${service}/openapi.json`)).json()) as Doc;
      const names = Object.keys(own.components?.schemas ?? {});
      expect(names.length, service).toBeGreaterThan(0);
      for (const name of names) {
        // A schema the gateway already has, identical (the shared Problem), is folded into it; any other is renamed.
        const shared = name in schemas && JSON.stringify(schemas[name]) === JSON.stringify(own.components.schemas[name]);
        if (!shared) expect(schemas, `${service}'s ${name}`).toHaveProperty([`${ns}_${name}`]);
      }
      for (const { op } of operations(doc).filter((o) => o.path.startsWith(`/v1/${service}/`))) {
        expect(op.operationId).toMatch(new RegExp(`^${service}_`));
      }
    }
    expect(schemas).toHaveProperty(["Crm_Contact"]);
    expect(schemas).not.toHaveProperty(["Contact"]);

    for (const ref of new Set(refs(doc))) {
      expect(ref, ref).toMatch(/^#\/components\//);
      const target = ref
        .slice(2)
        .split("/")
        .reduce<any>((node, key) => node?.[key], doc);
      expect(target, `${ref} resolves`).toBeDefined();
    }
  });

  it("declares a bearerAuth security scheme and requires it by default", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }]);
    expect(doc.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe(`${baseUrl()}/v1/auth/token`);
    // The health check stays open.
    expect(doc.paths["/health"].get.security).toEqual([]);
  });
});
