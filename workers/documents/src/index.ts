import { WorkerEntrypoint } from "cloudflare:workers";
import { checkD1, handleWithContext, refuseDirectFetch, type LogicServiceRpc, type ServiceHealth } from "@buildly/shared";
import { app, SERVICE } from "./app";


/** The gateway's way in: a typed RPC call that carries the identity context. */
export class DocumentsService extends WorkerEntrypoint<Env> implements LogicServiceRpc {
  async handle(request: Request, context: unknown): Promise<Response> {
    return handleWithContext(app, this.env, this.ctx, request, context);
  }

  async health(): Promise<ServiceHealth> {
    return checkD1(SERVICE, this.env.DB);
  }
}

export default {
  fetch: refuseDirectFetch,
} satisfies ExportedHandler<Env>;
