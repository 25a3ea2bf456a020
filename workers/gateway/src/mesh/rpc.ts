import type { Context } from "hono";
import { ApiError, FIND_BY_MAX_VALUES, GET_MANY_MAX_IDS, type Problem, type RpcResult } from "@buildly/shared";
import { withDeadline } from "../upstream/deadline";
import { identityFor } from "../upstream/identity-context";
import { serviceBinding, serviceRegistry, type ServiceEntry } from "../upstream/registry";
import { timed } from "../http/server-timing";
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
async function meshCall(
  c: Context<GatewayEnv>,
  service: string,
  method: "getMany" | "findBy",
  send: (stub: NonNullable<ReturnType<typeof serviceBinding>>, traceparent: string | undefined) => Promise<RpcResult<Row[]>> | undefined,
): Promise<Row[]> {
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
  const local = await localModels(ref.service);
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
  const local = await localModels(ref.service);
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

/** Can the caller read the service's records? (A gateway-owned model is never readable this way: see mayRead.) */
export function canRead(c: Context<GatewayEnv>, service: string): boolean {
  return c.get("permissions")?.[service]?.includes("read") ?? false;
}

/** canRead, and for the gateway's own models (mesh/local.ts) the rule their room sets. */
export async function mayRead(c: Context<GatewayEnv>, service: string): Promise<boolean> {
  const local = await localModels(service);
  return local ? local.mayRead(c) : canRead(c, service);
}
