import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { IdentityContextInput } from "../context";
import type { ErasureStep, RpcResult, ServiceCatalog, ServiceHealth, SubjectRecords } from "../contract";
import { type FieldError, PROBLEM_CONTENT_TYPE, type Problem } from "../errors";

export const ORG_A = "11111111-1111-4111-8111-111111111111";
export const ORG_B = "22222222-2222-4222-8222-222222222222";

/** An identity context as the gateway would send it, for calling a service's RPC entrypoint. */
export function identity(organization_id: string = ORG_A, overrides: Partial<IdentityContextInput> = {}): IdentityContextInput {
  return {
    request_id: crypto.randomUUID(),
    user_id: crypto.randomUUID(),
    organization_id,
    roles: ["admin"],
    permissions: {},
    ...overrides,
  };
}

export interface RpcService {
  handle(request: Request, context: unknown): Promise<Response>;
}

/** A client for one service's RPC entrypoint, acting for one organization. */
export function serviceClient(service: RpcService, organization_id: string = ORG_A) {
  const call = (method: string, path: string, init: { json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {}) => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return service.handle(new Request(`https://service.internal${path}`, { method, headers, body }), identity(organization_id));
  };
  return {
    get: (path: string, headers?: Record<string, string>) => call("GET", path, { headers }),
    post: (path: string, json: unknown) => call("POST", path, { json }),
    patch: (path: string, json: unknown) => call("PATCH", path, { json }),
    delete: (path: string) => call("DELETE", path),
    raw: call,
  };
}
export type ServiceClient = ReturnType<typeof serviceClient>;

/**
 * A logic service's RPC entrypoint as its tests call it: handle() plus the data mesh's methods.
 * Arguments are unknown and rows any, so a test can send what the gateway never would.
 */
export type LogicServiceRpc = RpcService & {
  health(): Promise<ServiceHealth>;
  // The rows are any: a test reads their fields without narrowing.
  getMany(model: string, ids: string[], context: unknown): Promise<RpcResult<any[]>>;
  findBy(model: string, field: string, values: unknown, perValue: unknown, context: unknown): Promise<RpcResult<any[]>>;
  search(query: unknown, models: unknown, limit: unknown, context: unknown): Promise<RpcResult<any[]>>;
  describe(): Promise<ServiceCatalog>;
  findBySubject(subject: unknown, context: unknown): Promise<RpcResult<SubjectRecords[]>>;
  eraseBySubject(subject: unknown, options: unknown, context: unknown): Promise<RpcResult<ErasureStep[]>>;
};

/** The test Worker's own RPC entrypoint `name` (the class its src/index.ts exports), e.g. "CrmService". */
export function serviceRpc<T = LogicServiceRpc>(name: string): T {
  return (exports as unknown as Record<string, T>)[name]!;
}

/** A brand-new organization and a client acting for it: its lists hold only what the test puts there. */
export function freshOrg(service: RpcService): { org: string; client: ServiceClient } {
  const org = crypto.randomUUID();
  return { org, client: serviceClient(service, org) };
}

/** Pages of a list past this many mean the cursor never ends: a bug, not a long list. */
const MAX_PAGES = 1000;

/**
 * Every item of a list, following next_cursor. With `limit`, asks for pages of that size and
 * checks that no page is larger. Fails loudly on any answer but 200.
 */
export async function listAll<T = any>(client: Pick<ServiceClient, "get">, path: string, limit?: number): Promise<T[]> {
  const out: T[] = [];
  const sep = path.includes("?") ? "&" : "?";
  let cursor: string | null = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const params = [limit === undefined ? "" : `limit=${limit}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ""].filter(Boolean).join("&");
    const url = params ? `${path}${sep}${params}` : path;
    const res = await client.get(url);
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
    const page = await res.json<{ data: T[]; next_cursor: string | null }>();
    if (limit !== undefined && page.data.length > limit) throw new Error(`GET ${url} answered ${page.data.length} items, more than limit=${limit}`);
    out.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) return out;
  }
  throw new Error(`GET ${path}: pagination did not end after ${MAX_PAGES} pages`);
}

/**
 * Asserts an RFC 9457 problem as every Worker writes it (problem+json, the status in the body,
 * the request id of the response header) and returns its body.
 */
// The body is any: a test reads its fields (errors[0].path, extensions) without narrowing.
export async function expectProblem(res: Response, status: number = res.status): Promise<any> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
  const body = await res.json<Problem>();
  expect(body).toMatchObject({ status, request_id: res.headers.get("x-request-id") });
  expect(typeof body.type).toBe("string");
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  return body;
}

/** The field paths of a 422 validation problem. */
export async function problemPaths(res: Response): Promise<string[]> {
  const problem = await expectProblem(res, 422);
  expect(problem.title).toBe("Unprocessable Content");
  return ((problem.errors ?? []) as FieldError[]).map((e) => e.path);
}

export * from "./mesh";
export * from "./outbox";
