import type { Context } from "hono";
import { logError, toApiError, type LogicServiceRpc, type Problem, type RpcResult } from "@buildly/shared";
import { ServiceCallError, withDeadline } from "../upstream/deadline";
import { serviceCall } from "../http/telemetry";
import { serviceBinding, type ServiceEntry } from "../upstream/registry";
import type { GatewayEnv } from "../types";

/*
 * How the data mesh calls a logic service over RPC: with the registry's deadline, every failure
 * (unbound, thrown, late, or a Problem the service answered) turned into a Problem value, and the
 * call's duration recorded for the response's Server-Timing header.
 */

/** What a mesh call needs of its request: the env, and the request id and call list it keeps. */
export type MeshCaller = Pick<Context<GatewayEnv>, "env" | "get" | "set">;

/** A caller outside an HTTP request (a workflow's Durable Object): same calls, timed for nobody. */
export function detachedCaller(env: Env, requestId: string): MeshCaller {
  const vars = new Map<string, unknown>([["requestId", requestId]]);
  return {
    env,
    get: ((key: string) => vars.get(key)) as MeshCaller["get"],
    set: ((key: string, value: unknown) => void vars.set(key, value)) as MeshCaller["set"],
  };
}

/** One RPC call, for Server-Timing: `<service>;dur=<ms>;desc="<rpc method>"`. */
export interface MeshTiming {
  service: string;
  method: string;
  ms: number;
}

/**
 * The calls this request made so far: the same list http/server-timing.ts keeps for every
 * call (the proxied `handle` included), so the header names each call once.
 */
export function meshTimings(c: MeshCaller): MeshTiming[] {
  let list = c.get("serviceCalls");
  if (!list) c.set("serviceCalls", (list = []));
  return list;
}

/** The Server-Timing value: one entry per service call this request made (undefined: none). */
export function serverTimingValue(c: Context<GatewayEnv>): string | undefined {
  const list = meshTimings(c);
  return list.length ? list.map((t) => `${t.service};dur=${t.ms.toFixed(1)};desc="${t.method}"`).join(", ") : undefined;
}

/** Sets Server-Timing on the response being built. */
export function setServerTiming(c: Context<GatewayEnv>): void {
  const value = serverTimingValue(c);
  if (value) c.header("server-timing", value);
}

/**
 * Calls `method` on the service of `entry` within `timeoutMs`. Returns the service's own result,
 * or `{ ok: false, error }` for a service that is not bound, throws (502), or is late (504).
 */
export async function meshCall<T>(
  c: MeshCaller,
  entry: ServiceEntry,
  method: string,
  timeoutMs: number,
  call: (stub: LogicServiceRpc, traceparent: string | undefined) => Promise<RpcResult<T>>,
): Promise<RpcResult<T>> {
  const requestId = c.get("requestId");
  const started = performance.now();
  // Recorded in the order the calls are made, whatever order they finish in.
  const timing: MeshTiming = { service: entry.name, method, ms: 0 };
  meshTimings(c).push(timing);
  try {
    const stub = serviceBinding(c.env, entry);
    if (!stub) throw new ServiceCallError(entry.name, new Error(`binding ${entry.binding} is missing`));
    return await serviceCall(c, entry.name, method, (traceparent) => withDeadline(entry.name, timeoutMs, () => call(stub, traceparent)));
  } catch (err) {
    if (err instanceof ServiceCallError) logError(requestId, "gateway", err.cause, { target: entry.name, rpc: method });
    return { ok: false, error: toApiError(err).toProblem(requestId) };
  } finally {
    timing.ms = performance.now() - started;
  }
}

/** A Problem, for a failure the gateway itself decides (e.g. 403 for a service the caller may not read). */
export function problemOf(c: Context<GatewayEnv>, err: unknown): Problem {
  return toApiError(err).toProblem(c.get("requestId"));
}
