import type { IdentityContextInput } from "./context";

export interface ServiceHealth {
  service: string;
  status: "ok" | "error";
  checks: Record<string, "ok" | "error">;
}

/**
 * The RPC surface every logic service's entrypoint offers the gateway.
 * `handle` carries the client's request (its body streamed) with the identity context.
 */
export interface LogicServiceRpc {
  handle(request: Request, context: IdentityContextInput): Promise<Response>;
  health(): Promise<ServiceHealth>;
}
