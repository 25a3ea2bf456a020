import { ORG_A, ORG_B, freshOrg as freshOrgOf, identity, serviceClient, serviceRpc, type ServiceClient } from "@buildly/shared/test";

export const rpc = serviceRpc("CrmService");

export type Client = ServiceClient;

export const a = serviceClient(rpc, ORG_A);
export const b = serviceClient(rpc, ORG_B);
export { ORG_A, ORG_B, identity };
export { expectProblem, listAll, problemPaths } from "@buildly/shared/test";

/** A brand-new organization of the CRM and a client for it: lists and counts start empty. */
export const freshOrg = () => freshOrgOf(rpc);

let n = 0;
export function unique(): number {
  return ++n;
}

export function contactInput(overrides: Record<string, unknown> = {}) {
  const i = unique();
  return { first_name: "Ada", last_name: "Lovelace", email: `ada${i}.${crypto.randomUUID().slice(0, 8)}@example.com`, ...overrides };
}

/** POST and return the body, failing loudly when the status is not 201. */
export async function create(client: Client, path: string, body: unknown): Promise<any> {
  const res = await client.post(path, body);
  const json = await res.json<any>();
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function json(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

export function ids(items: { id: string }[]): string[] {
  return items.map((x) => x.id);
}
