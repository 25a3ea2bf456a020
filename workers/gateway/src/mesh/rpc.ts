import type { Context } from "hono";
import { ApiError, FIND_BY_MAX_VALUES, valuesAt, GET_MANY_MAX_IDS, type Problem, type RpcResult } from "@buildly/shared";
import { withDeadline } from "../upstream/deadline";
import { identityFor } from "../upstream/identity-context";
import { serviceBinding, serviceRegistry, type ServiceEntry } from "../upstream/registry";
import { timed } from "../upstream/server-timing";
import type { GatewayEnv } from "../types";
import { localModels } from "./local";
import type { ModelRef } from "./relationships/relationship";

export type Row = Record<string, unknown>;

/** A service's problem, rebuilt on this side of the RPC boundary (thrown errors lose their fields). */
export function fromProblem(p: Problem): ApiError {
  const { type, title, status, detail, errors, request_id: _r, ...extensions } = p;
  return new ApiError(status, detail, { type, title, errors, extensions });
}

export function entryOf(c: Context<GatewayEnv>, service: string): ServiceEntry {
  const entry = serviceRegistry(c.env).find((e) => e.name === service);
  if (!entry) throw new ApiError(502, `The ${service} service is not registered with the gateway.`, { extensions: { service } });
  return entry;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One mesh RPC to a service on the caller's behalf: timed for Server-Timing, raced against the
 * registry's deadline, its failure rebuilt as an ApiError.
 */
async function meshCall<T>(
  c: Context<GatewayEnv>,
  service: string,
  /** As Server-Timing names it: getManyJson and findByJson are the same reads, named getMany and findBy. */
  method: "getMany" | "findBy",
  send: (stub: NonNullable<ReturnType<typeof serviceBinding>>, traceparent: string | undefined) => Promise<RpcResult<T>> | undefined,
): Promise<T> {
  const entry = entryOf(c, service);
  const stub = serviceBinding(c.env, entry);
  if (!stub) throw new ApiError(502, `The ${service} service is not bound to the gateway.`, { extensions: { service } });
  const result = await timed(c, service, method, (traceparent) =>
    withDeadline(service, entry.timeout_ms, async () => {
      const pending = send(stub, traceparent);
      if (!pending) throw new ApiError(502, `The ${service} service does not offer ${method}.`, { extensions: { service } });
      return pending;
    }),
  );
  if (!result.ok) throw fromProblem(result.error);
  return result.data;
}

/**
 * Records of `ref` by id, within the caller's organization; missing ids are absent. One call per
 * GET_MANY_MAX_IDS distinct ids (in parallel), none for no ids.
 */
export async function getMany(c: Context<GatewayEnv>, ref: ModelRef, ids: Iterable<string>): Promise<Row[]> {
  const unique = [...new Set(ids)];
  if (!unique.length) return [];
  const identity = identityFor(c);
  const local = localModels(ref.service);
  if (local) return (await Promise.all(chunks(unique, GET_MANY_MAX_IDS).map((part) => local.getMany(c.env.DB, ref.model, part, identity)))).flat();
  const pages = await Promise.all(
    chunks(unique, GET_MANY_MAX_IDS).map((part) =>
      meshCall(c, ref.service, "getMany", (stub, traceparent) => stub.getMany(ref.model, part, { ...identity, traceparent })),
    ),
  );
  return pages.flat();
}

/** Records of `ref` whose `field` holds one of `values`, at most `perValue` per value. One call per FIND_BY_MAX_VALUES values. */
export async function findBy(c: Context<GatewayEnv>, ref: ModelRef, field: string, values: Iterable<string>, perValue: number): Promise<Row[]> {
  const unique = [...new Set(values)];
  if (!unique.length) return [];
  const identity = identityFor(c);
  const local = localModels(ref.service);
  const pages = await Promise.all(
    chunks(unique, FIND_BY_MAX_VALUES).map((part) =>
      local
        ? local.findBy(c.env.DB, ref.model, field, part, perValue, identity)
        : meshCall(c, ref.service, "findBy", (stub, traceparent) => stub.findBy?.(ref.model, field, part, perValue, { ...identity, traceparent })),
    ),
  );
  // A record matching values in two chunks comes back twice.
  const seen = new Set<unknown>();
  return pages.flat().filter((r) => {
    if (seen.has(r.id)) return false;
    seen.add(r.id);
    return true;
  });
}

/**
 * A related record ready to embed: its key (the id, or the value it was found by) and its JSON
 * text exactly as the service's API writes it, spliced into the joined answer without parsing.
 */
export type RecordText = [key: string, json: string];

/** A service's `[key, record text]` pairs (MeshRpc.findByJson), checked for shape only: the texts are the service's own. */
function pairsOf(service: string, text: string): RecordText[] {
  let pairs: unknown;
  try {
    pairs = JSON.parse(text);
  } catch {
    pairs = undefined;
  }
  if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && typeof p[0] === "string" && typeof p[1] === "string")) {
    throw new ApiError(502, `The ${service} service answered records the gateway cannot embed.`, { extensions: { service } });
  }
  return pairs as RecordText[];
}

const asTexts = (rows: Row[], key: (r: Row) => unknown): RecordText[] => rows.map((r) => [String(key(r)), JSON.stringify(r)]);

/** getMany for embedding: `[id, record text]` pairs, in one getManyJson per GET_MANY_MAX_IDS distinct ids. */
export async function getManyJson(c: Context<GatewayEnv>, ref: ModelRef, ids: Iterable<string>): Promise<RecordText[]> {
  const unique = [...new Set(ids)];
  if (!unique.length) return [];
  if (localModels(ref.service)) return asTexts(await getMany(c, ref, unique), (r) => r.id);
  const identity = identityFor(c);
  const pages = await Promise.all(
    chunks(unique, GET_MANY_MAX_IDS).map(async (part) =>
      pairsOf(ref.service, await meshCall(c, ref.service, "getMany", (stub, traceparent) => stub.getManyJson?.(ref.model, part, { ...identity, traceparent }))),
    ),
  );
  return pages.flat();
}

/**
 * findBy for embedding: `[value, record text]` pairs, newest first, at most `perValue` per value
 * (a record holding two of the values comes once for each), one findByJson per FIND_BY_MAX_VALUES values.
 */
export async function findByJson(c: Context<GatewayEnv>, ref: ModelRef, field: string, values: Iterable<string>, perValue: number): Promise<RecordText[]> {
  const unique = [...new Set(values)];
  if (!unique.length) return [];
  if (localModels(ref.service)) {
    const wanted = new Set(unique);
    const left = new Map<string, number>();
    const out: RecordText[] = [];
    for (const row of await findBy(c, ref, field, unique, perValue)) {
      const text = JSON.stringify(row);
      for (const v of valuesAt(row, field)) {
        const n = left.get(v) ?? 0;
        if (wanted.has(v) && n < perValue) out.push([v, text]);
        left.set(v, n + 1);
      }
    }
    return out;
  }
  const identity = identityFor(c);
  const pages = await Promise.all(
    chunks(unique, FIND_BY_MAX_VALUES).map(async (part) =>
      pairsOf(
        ref.service,
        await meshCall(c, ref.service, "findBy", (stub, traceparent) => stub.findByJson?.(ref.model, field, part, perValue, { ...identity, traceparent })),
      ),
    ),
  );
  return pages.flat();
}

/** Can the caller read the service's records? (A gateway-owned model is never readable this way: see mayRead.) */
export function canRead(c: Context<GatewayEnv>, service: string): boolean {
  return c.get("permissions")?.[service]?.includes("read") ?? false;
}

/** canRead, and for the gateway's own models (mesh/local.ts) the rule their room sets. */
export async function mayRead(c: Context<GatewayEnv>, service: string): Promise<boolean> {
  const local = localModels(service);
  return local ? local.mayRead(c) : canRead(c, service);
}
