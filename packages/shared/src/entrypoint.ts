import { WorkerEntrypoint } from "cloudflare:workers";
import { handleWithContext } from "./app";
import type { IdentityContext } from "./context";
import type { LogicServiceRpc, ServiceHealth } from "./contract";
import { checkD1 } from "./meta";

type ServiceApp<E> = {
  fetch: (req: Request, env: E & { IDENTITY: IdentityContext }, ctx: ExecutionContext) => Response | Promise<Response>;
};

/**
 * The RPC entrypoint class of a logic service: the gateway's only way in. `handle`
 * checks the identity context and runs the service's app; `health` queries its D1.
 */
export function logicServiceEntrypoint<E extends { DB: D1Database }>(service: string, app: ServiceApp<E>) {
  return class LogicService extends WorkerEntrypoint<E> implements LogicServiceRpc {
    async handle(request: Request, context: unknown): Promise<Response> {
      return handleWithContext(app, this.env, this.ctx, request, context);
    }

    async health(): Promise<ServiceHealth> {
      return checkD1(service, this.env.DB);
    }
  };
}
