import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { handleWithContext } from "./app";
import { IdentityContextSchema, type IdentityContext } from "./context";
import { GET_MANY_MAX_IDS, type LogicServiceRpc, type RpcResult, type ServiceHealth } from "./contract";
import { ApiError, toApiError } from "./errors";
import { checkD1 } from "./meta";

type ServiceApp<E> = {
  fetch: (req: Request, env: E & { IDENTITY: IdentityContext }, ctx: ExecutionContext) => Response | Promise<Response>;
};

/** A batched read of one model by ids, for one organization. Missing or foreign ids are simply absent. */
export type GetManyLoader<E> = (env: E, organizationId: string, ids: string[]) => Promise<Record<string, unknown>[]>;

export interface LogicServiceOptions<E> {
  /** model name -> loader; the models the data mesh may join on. */
  models?: Record<string, GetManyLoader<E>>;
}

const IdsSchema = z.array(z.uuid()).max(GET_MANY_MAX_IDS);

/**
 * The RPC entrypoint class of a logic service: the gateway's only way in. `handle`
 * checks the identity context and runs the service's app; `health` queries its D1;
 * `getMany` reads a batch of records of one model within the caller's organization.
 */
export function logicServiceEntrypoint<E extends { DB: D1Database }>(service: string, app: ServiceApp<E>, options: LogicServiceOptions<E> = {}) {
  const models = options.models ?? {};
  return class LogicService extends WorkerEntrypoint<E> implements LogicServiceRpc {
    async handle(request: Request, context: unknown): Promise<Response> {
      return handleWithContext(app, this.env, this.ctx, request, context);
    }

    async health(): Promise<ServiceHealth> {
      return checkD1(service, this.env.DB);
    }

    async getMany(model: string, ids: string[], context: unknown): Promise<RpcResult<Record<string, unknown>[]>> {
      const identity = IdentityContextSchema.safeParse(context);
      const requestId = identity.success ? identity.data.request_id : crypto.randomUUID();
      try {
        if (!identity.success) throw new ApiError(401, "The call carries no valid identity context.");
        const loader = Object.hasOwn(models, model) ? models[model] : undefined;
        if (!loader) throw new ApiError(404, `The ${service} service has no model ${model}.`);
        const parsed = IdsSchema.safeParse(ids);
        if (!parsed.success) {
          throw new ApiError(422, `ids must be at most ${GET_MANY_MAX_IDS} UUIDs.`, { errors: [{ path: "ids", message: "Invalid ids" }] });
        }
        const unique = [...new Set(parsed.data)];
        const data = unique.length ? await loader(this.env, identity.data.organization_id, unique) : [];
        return { ok: true, data };
      } catch (err) {
        return { ok: false, error: toApiError(err).toProblem(requestId) };
      }
    }
  };
}
