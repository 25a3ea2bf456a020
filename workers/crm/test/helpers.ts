import { exports } from "cloudflare:workers";
import type { ServiceCatalog } from "@buildly/shared";
import { ORG_A, ORG_B, identity, serviceClient } from "@buildly/shared/test";

export const rpc = (exports as unknown as { CrmService: Parameters<typeof serviceClient>[0] & CrmRpc }).CrmService;

type Result = { ok: true; data: any[] } | { ok: false; error: any };

interface CrmRpc {
  getMany(model: string, ids: string[], context: unknown): Promise<Result>;
  findBy(model: string, field: string, values: unknown, perValue: unknown, context: unknown): Promise<Result>;
  search(query: unknown, models: unknown, limit: unknown, context: unknown): Promise<Result>;
  describe(): Promise<ServiceCatalog>;
  health(): Promise<unknown>;
}

export type Client = ReturnType<typeof serviceClient>;

export const a = serviceClient(rpc, ORG_A);
export const b = serviceClient(rpc, ORG_B);
export { ORG_A, ORG_B, identity };

/** A client for a brand-new organization: lists and counts start empty. */
export function fresh(): Client & { org: string } {
  const org = crypto.randomUUID();
  return Object.assign(serviceClient(rpc, org), { org });
}

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

/** Every item of a list, following next_cursor; also checks each page's size. */
export async function pageAll(client: Client, path: string, limit: number): Promise<any[]> {
  const seen: any[] = [];
  let cursor: string | null = null;
  const sep = path.includes("?") ? "&" : "?";
  for (let pages = 0; pages < 1000; pages++) {
    const res = await client.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
    const page: any = await res.json();
    if (page.data.length > limit) throw new Error("page larger than limit");
    seen.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) return seen;
  }
  throw new Error("pagination does not end");
}

export function ids(items: { id: string }[]): string[] {
  return items.map((x) => x.id);
}
