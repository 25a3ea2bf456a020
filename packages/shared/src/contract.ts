import type { IdentityContextInput } from "./context";
import type { Problem } from "./errors";

export interface ServiceHealth {
  service: string;
  status: "ok" | "error";
  checks: Record<string, "ok" | "error">;
}

/**
 * What crosses RPC when a call can fail: thrown errors lose their fields on the way, so
 * failures travel as values and the caller rebuilds the ApiError.
 */
export type RpcResult<T> = { ok: true; data: T } | { ok: false; error: Problem };

/** At most this many ids in one batched read. */
export const GET_MANY_MAX_IDS = 100;

/**
 * The RPC surface every logic service's entrypoint offers the gateway.
 * `handle` carries the client's request (its body streamed) with the identity context;
 * `getMany` is the batched read by ids the data mesh uses, scoped to the context's organization.
 */
export interface LogicServiceRpc {
  handle(request: Request, context: IdentityContextInput): Promise<Response>;
  health(): Promise<ServiceHealth>;
  getMany(model: string, ids: string[], context: IdentityContextInput): Promise<RpcResult<Record<string, unknown>[]>>;
}
