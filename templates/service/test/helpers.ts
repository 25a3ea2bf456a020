import { exports } from "cloudflare:workers";
import type { ServiceCatalog } from "@buildly/shared";
import { ORG_A, ORG_B, freshOrg, identity, serviceClient, type ServiceClient } from "@buildly/shared/test";

type Result = { ok: true; data: any[] } | { ok: false; error: any };

/** The RPC entrypoint as the gateway calls it (handle plus the data mesh's methods). */
interface ServiceRpc {
  handle(request: Request, context: unknown): Promise<Response>;
  getMany(model: string, ids: string[], context: unknown): Promise<Result>;
  findBy(model: string, field: string, values: unknown, perValue: unknown, context: unknown): Promise<Result>;
  search(query: unknown, models: unknown, limit: unknown, context: unknown): Promise<Result>;
  findBySubject(subject: unknown, context: unknown): Promise<Result>;
  eraseBySubject(subject: unknown, options: unknown, context: unknown): Promise<Result>;
  describe(): Promise<ServiceCatalog>;
  health(): Promise<unknown>;
}

export const rpc = (exports as unknown as { __Service__Service: ServiceRpc }).__Service__Service;

/** Clients acting for two fixed organizations, and for a brand-new one whose lists start empty. */
export const a = serviceClient(rpc, ORG_A);
export const b = serviceClient(rpc, ORG_B);
export const fresh = () => freshOrg(rpc);
export { ORG_A, ORG_B, identity, type ServiceClient };

/** POST /items and return the body, failing loudly when the status is not 201. */
export async function createItem(client: ServiceClient, body: Record<string, unknown> = {}): Promise<any> {
  const res = await client.post("/items", { name: "Sample item", ...body });
  const json = await res.json<any>();
  if (res.status !== 201) throw new Error(`POST /items answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}
