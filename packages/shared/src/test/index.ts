import type { IdentityContextInput } from "../context";

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
export * from "./mesh";
export * from "./outbox";
