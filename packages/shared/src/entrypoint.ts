import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { handleWithContext } from "./app";
import { identityContextSchema, type IdentityContext } from "./context";
import {
  FIND_BY_MAX_PER_VALUE,
  IDENTITY_CONTEXT_HEADER,
  FIND_BY_MAX_VALUES,
  GET_MANY_MAX_IDS,
  SEARCH_MAX_HITS,
  SEARCH_MAX_QUERY_LENGTH,
  PRIVACY_MAX_RECORDS,
  SUBJECT_KEYS,
  type ErasureStep,
  type LogicServiceRpc,
  type PersonalData,
  type PrivacySubject,
  type SubjectRecords,
  type MeshField,
  type MeshModel,
  type RpcResult,
  type SearchHit,
  type ServiceCatalog,
  type ServiceHealth,
} from "./contract";
import { ApiError, toApiError } from "./errors";
import { checkD1 } from "./meta";
import { builtOnce, loadOnce } from "./load-once";
import { actorFromIdentity, eventDatabase, type OutboxEnv } from "./outbox";
import { Telemetry, telemetryConfig, tracedEnv } from "./telemetry";

/** The trace context the gateway sent (validated strictly by Telemetry; anything else starts a new trace). */
function traceparentOf(context: unknown): string | undefined {
  const tp = context && typeof context === "object" ? (context as { traceparent?: unknown }).traceparent : undefined;
  return typeof tp === "string" ? tp : undefined;
}

type ServiceApp<E> = {
  fetch: (req: Request, env: E & { IDENTITY: IdentityContext }, ctx: ExecutionContext) => Response | Promise<Response>;
};

/** A batched read of one model by ids, for one organization. Missing or foreign ids are simply absent. */
export type GetManyLoader<E> = (env: E, organizationId: string, ids: string[]) => Promise<Record<string, unknown>[]>;

/**
 * A batched read of one model by a field's values, for one organization: ONE query whatever the
 * number of values, at most `perValue` records per value, newest first.
 */
export type FindByLoader<E> = (env: E, organizationId: string, values: string[], perValue: number) => Promise<Record<string, unknown>[]>;

/**
 * The best matches for `query` in one model, for one organization, at most `limit`, best first.
 * Hits carry `model` and a `score` in 0..1 (see `textScore`).
 */
export type SearchLoader<E> = (env: E, organizationId: string, query: string, limit: number) => Promise<SearchHit[]>;

/**
 * The records of one model about a person, for one organization: at most `limit`, in a stable
 * order (the same call answers the same records while nothing changes).
 */
export type SubjectFinder<E> = (env: E, organizationId: string, subject: PrivacySubject, limit: number) => Promise<Record<string, unknown>[]>;

/**
 * Applies the model's erasure rule to these records (found by the finder, none under legal
 * hold), without events (raw D1, no event context). Answers how many stored objects went with them.
 * Models are erased in reverse catalog order, so records that refer to others go first.
 */
export type SubjectEraser<E> = (
  env: E,
  organizationId: string,
  ids: string[],
  subject: PrivacySubject,
) => Promise<{ objects_deleted: number /** Records left as they are because a record under legal hold depends on them. */; held?: string[] }>;

/** A model's privacy declaration (the catalog's `personal_data`) and, when a person can be found in it, how. */
export interface PersonalDataDefinition<E> extends PersonalData {
  /** Required when `found_by` names a key. */
  find?: SubjectFinder<E>;
  /** Required when `found_by` names a key and the rule is not `keep`. */
  erase?: SubjectEraser<E>;
}

/** The declaration of a model that holds no personal data. */
export const NO_PERSONAL_DATA: PersonalData = { fields: [], found_by: {}, erasure: { action: "keep", legal_basis: "holds no personal data" } };

/** One model as a service declares it to the data mesh. */
export interface MeshModelDefinition<E> {
  /** The collection's path under the service, e.g. `/contacts`. */
  path: string;
  title: string;
  /** Usually `meshFields(ResponseSchema, notes)`: read off the API's own response schema. */
  fields: MeshField[];
  getMany: GetManyLoader<E>;
  /** field name -> loader. The catalog marks exactly these fields `lookup: true`. */
  findBy?: Record<string, FindByLoader<E>>;
  /** Present: the model is `searchable`. */
  search?: SearchLoader<E>;
  /** Required: what the model holds about people and what erasure does (NO_PERSONAL_DATA if nothing). */
  personalData: PersonalDataDefinition<E>;
}

export interface LogicServiceOptions<E> {
  /**
   * model name -> definition; the models the data mesh may read, join and search. Or a function
   * that loads them (`() => import("./models").then((m) => m.models)`): they are then built on the
   * first data call, not at start-up (their schemas are most of it), and checked then.
   */
  models?: Record<string, MeshModelDefinition<E>> | (() => Promise<Record<string, MeshModelDefinition<E>>>);
}

/**
 * The data methods' argument checks, built on the first data call, not when the Worker starts (a
 * zod schema costs more to build than to run, and a service that answers only `handle` never needs them).
 */
const argSchemas = builtOnce(() => ({
  ids: z.array(z.uuid()).max(GET_MANY_MAX_IDS),
  /** findBy's values. */
  uuidValues: z.array(z.uuid()).max(FIND_BY_MAX_VALUES),
  stringValues: z.array(z.string().min(1).max(500)).max(FIND_BY_MAX_VALUES),
  perValue: z.number().int().min(1).max(FIND_BY_MAX_PER_VALUE),
  query: z.string().trim().min(1).max(SEARCH_MAX_QUERY_LENGTH),
  modelNames: z.array(z.string().max(100)).max(50),
  limit: z.number().int().min(1).max(SEARCH_MAX_HITS),
  /** A person as the gateway resolved them: bounded lists, so one call is bounded work. */
  privacySubject: z.strictObject({
    emails: z.array(z.string().trim().toLowerCase().min(3).max(254)).max(10),
    contact_ids: z.array(z.uuid()).max(100),
    user_ids: z.array(z.uuid()).max(10),
    linked: z.record(z.string().max(100), z.array(z.uuid()).max(GET_MANY_MAX_IDS)),
  }),
  eraseOptions: z.strictObject({
    dry_run: z.boolean(),
    held: z.record(z.string().max(100), z.array(z.string().max(100)).max(1000)),
  }),
}));

function invalid(path: string, detail: string): ApiError {
  return new ApiError(422, detail, { errors: [{ path, message: detail }] });
}

/**
 * Where a model's privacy declaration is wrong or missing (empty when it is sound): every field it
 * names must be a catalog field (or an entry of a catalog list, `attendees[].email`), a person
 * found by a key needs a finder and an eraser, and `keep` states its legal basis.
 */
export function personalDataProblems(where: string, fields: MeshField[], p: PersonalDataDefinition<unknown> | undefined): string[] {
  if (!p || typeof p !== "object") return [`${where}: no personal_data declaration (NO_PERSONAL_DATA when it holds none)`];
  const problems: string[] = [];
  const names = new Set(fields.map((f) => f.name));
  const known = (name: string) => names.has(name) || names.has(name.split("[].")[0]!) || (name.endsWith("[]") && names.has(name.slice(0, -2)));
  if (!Array.isArray(p.fields)) problems.push(`${where}: personal_data.fields must be a list`);
  for (const f of p.fields ?? []) if (!known(f)) problems.push(`${where}: personal field ${f} is not a catalog field`);
  const keys = Object.entries(p.found_by ?? {});
  for (const [key, field] of keys) {
    if (!(SUBJECT_KEYS as readonly string[]).includes(key)) problems.push(`${where}: found_by ${key} is not one of ${SUBJECT_KEYS.join(", ")}`);
    if (typeof field !== "string" || !known(field)) problems.push(`${where}: found_by ${key} names ${String(field)}, not a catalog field`);
  }
  const rule = p.erasure;
  if (!rule || !["delete", "anonymize", "keep"].includes(rule.action)) problems.push(`${where}: personal_data.erasure must be delete, anonymize or keep`);
  else if (rule.action === "keep" && !(typeof rule.legal_basis === "string" && rule.legal_basis.trim())) problems.push(`${where}: keep needs a legal_basis`);
  else if (rule.action === "anonymize") {
    const replaced = Object.keys(rule.replace ?? {});
    if (replaced.length === 0) problems.push(`${where}: anonymize names no field`);
    for (const f of replaced) if (!known(f)) problems.push(`${where}: anonymize names ${f}, not a catalog field`);
  }
  if (keys.length > 0) {
    if ((p.fields ?? []).length === 0) problems.push(`${where}: a person is found here but no field is personal`);
    if (!p.find) problems.push(`${where}: found_by needs a find`);
    if (rule?.action !== "keep" && !p.erase) problems.push(`${where}: found_by needs an erase`);
  }
  return problems;
}

/** The catalog a service describes, checked once when the class is built (models given as a loader: when they load): a bad definition fails at once, not at some later call. */
function buildCatalog<E>(service: string, models: Record<string, MeshModelDefinition<E>>): ServiceCatalog {
  const out: MeshModel[] = Object.entries(models).map(([name, m]) => {
    const lookups = Object.keys(m.findBy ?? {});
    for (const f of lookups) {
      if (!m.fields.some((field) => field.name === f)) throw new Error(`${service}.${name}: findBy on ${f}, which is not a catalog field`);
    }
    const problems = personalDataProblems(`${service}.${name}`, m.fields, m.personalData as PersonalDataDefinition<unknown> | undefined);
    if (problems.length) throw new Error(problems.join("; "));
    const fields = m.fields.map((f) => (lookups.includes(f.name) ? { ...f, lookup: true } : { ...f }));
    const { fields: personal, found_by, erasure } = m.personalData;
    return {
      name,
      path: m.path,
      title: m.title,
      fields,
      searchable: Boolean(m.search),
      personal_data: structuredClone({ fields: personal, found_by, erasure }),
    };
  });
  return { service, models: out };
}

/**
 * The RPC entrypoint class of a logic service: the gateway's only way in. `handle`
 * checks the identity context and runs the service's app; `health` queries its D1;
 * `describe`, `getMany`, `findBy` and `search` are the data mesh's view of its models.
 * Every data method validates the identity context and its arguments and answers failures
 * as values (`{ ok: false, error: Problem }`): thrown errors lose their fields over RPC.
 */
export function logicServiceEntrypoint<E extends OutboxEnv>(service: string, app: ServiceApp<E>, options: LogicServiceOptions<E> = {}) {
  const prepare = (models: Record<string, MeshModelDefinition<E>>) => ({
    catalog: buildCatalog(service, models),
    modelNamed: (name: unknown): MeshModelDefinition<E> => {
      const m = typeof name === "string" && Object.hasOwn(models, name) ? models[name] : undefined;
      if (!m) throw new ApiError(404, `The ${service} service has no model ${String(name)}.`);
      return m;
    },
    personalModels: Object.entries(models).filter(([, m]) => Object.keys(m.personalData.found_by).length > 0),
  });
  const given = options.models;
  const eager = typeof given === "function" ? undefined : prepare(given ?? {});
  const load = typeof given === "function" ? loadOnce(() => given().then(prepare)) : undefined;
  /** The models, checked: at once when given, else loaded on the first call that needs them. */
  const prepared = (): ReturnType<typeof prepare> | Promise<ReturnType<typeof prepare>> => eager ?? load!();

  /**
   * The call's telemetry: a span of the caller's trace when this Worker exports. With no endpoint a
   * Telemetry records nothing and nothing in a service reads its ids (the gateway's log line names
   * the trace), so one built for the isolate serves every call instead of parsing the caller's
   * traceparent and drawing a span id per call.
   */
  let idle: Telemetry | undefined;
  const telemetryFor = (env: E, context: unknown): Telemetry =>
    telemetryConfig(env, service)
      ? new Telemetry(env, service, { parent: traceparentOf(context), kind: "server" })
      : (idle ??= new Telemetry(undefined, service));

  const parseSubject = (subject: unknown): PrivacySubject => {
    const parsed = argSchemas().privacySubject.safeParse(subject);
    if (!parsed.success) throw invalid("subject", "subject must be { emails, contact_ids, user_ids, linked } within their bounds.");
    return parsed.data;
  };

  /**
   * Runs `body` for a valid identity, turning any failure into a Problem value. The call is a span
   * of the caller's trace (`<service> <method> <model>`), its D1 queries children of it.
   */
  async function guarded<T>(
    self: { env: E; ctx: ExecutionContext },
    call: { method: string; model?: unknown },
    context: unknown,
    body: (identity: IdentityContext, env: E) => Promise<T>,
  ): Promise<RpcResult<T>> {
    const identity = identityContextSchema().safeParse(context);
    const requestId = identity.success ? identity.data.request_id : crypto.randomUUID();
    const model = typeof call.model === "string" ? call.model.slice(0, 100) : undefined;
    const tel = telemetryFor(self.env, context);
    if (tel.recording) tel.root.setName(`${service} ${call.method}${model ? ` ${model}` : ""}`);
    if (tel.recording) tel.root.setAttributes({ "rpc.system": "cloudflare_rpc", "rpc.service": service, "rpc.method": call.method, "buildly.model": model });
    try {
      if (!identity.success) throw new ApiError(401, "The call carries no valid identity context.");
      tel.root.setAttributes({ "buildly.organization_id": identity.data.organization_id });
      return { ok: true, data: await body(identity.data, tracedEnv(self.env, tel)) };
    } catch (err) {
      const problem = toApiError(err).toProblem(requestId);
      if (problem.status >= 500) tel.root.fail(err);
      return { ok: false, error: problem };
    } finally {
      tel.root.end();
      if (tel.recording) self.ctx.waitUntil(tel.flush());
    }
  }

  return class LogicService extends WorkerEntrypoint<E> implements LogicServiceRpc {
    /**
     * The gateway's proxied call over its service binding: `handle` with the identity context
     * read from IDENTITY_CONTEXT_HEADER, which the service's app never sees. Only the gateway's
     * binding names this entrypoint; a Worker's default export refuses every request, so nothing
     * from outside reaches a service with a header of its own. No header, or not JSON: handle's 401.
     */
    async fetch(request: Request): Promise<Response> {
      const raw = request.headers.get(IDENTITY_CONTEXT_HEADER);
      let context: unknown;
      if (raw !== null) {
        try {
          context = JSON.parse(raw);
        } catch {
          context = undefined;
        }
      }
      // A request that came over a binding has immutable headers: a copy without it (the body
      // moves to the copy, unread), made at once rather than after a failed delete (a throw a call).
      const headers = new Headers(request.headers);
      headers.delete(IDENTITY_CONTEXT_HEADER);
      return this.handle(new Request(request, { headers }), context);
    }

    async handle(request: Request, context: unknown): Promise<Response> {
      const tel = telemetryFor(this.env, context);
      if (tel.recording) {
        // Renamed by the service's app once the route is known (app.ts).
        tel.root.setName(`${service} ${request.method}`);
        tel.root.setAttributes({ "http.request.method": request.method });
      }
      // Reads and writes run in a D1 session (bookmarks, d1-session.ts); writes made while handling
      // the call carry its actor (and, when traced, its trace context) to the outbox (outbox.ts).
      const envFor = (identity: IdentityContext, env: E): E =>
        tracedEnv(
          {
            ...env,
            DB: eventDatabase(env, actorFromIdentity(service, identity), (p) => this.ctx.waitUntil(p), tel),
            ...(tel.recording ? { TELEMETRY: tel } : {}),
          },
          tel,
        );
      try {
        const response = await handleWithContext(app, this.env, this.ctx, request, context, { service, envFor });
        if (response.status >= 500) tel.root.fail(`HTTP ${response.status}`);
        return response;
      } catch (err) {
        tel.root.fail(err);
        throw err;
      } finally {
        tel.root.end();
        if (tel.recording) this.ctx.waitUntil(tel.flush());
      }
    }

    async health(): Promise<ServiceHealth> {
      return checkD1(service, this.env.DB);
    }

    async describe(): Promise<ServiceCatalog> {
      return structuredClone((await prepared()).catalog);
    }

    async getMany(model: string, ids: string[], context: unknown): Promise<RpcResult<Record<string, unknown>[]>> {
      return guarded({ env: this.env, ctx: this.ctx }, { method: "getMany", model }, context, async (identity, env) => {
        const m = (await prepared()).modelNamed(model);
        const parsed = argSchemas().ids.safeParse(ids);
        if (!parsed.success) throw invalid("ids", `ids must be at most ${GET_MANY_MAX_IDS} UUIDs.`);
        const unique = [...new Set(parsed.data)];
        return unique.length ? m.getMany(env, identity.organization_id, unique) : [];
      });
    }

    async findBy(model: string, field: string, values: string[], perValue: number, context: unknown): Promise<RpcResult<Record<string, unknown>[]>> {
      return guarded({ env: this.env, ctx: this.ctx }, { method: "findBy", model }, context, async (identity, env) => {
        const m = (await prepared()).modelNamed(model);
        const loader = typeof field === "string" && m.findBy && Object.hasOwn(m.findBy, field) ? m.findBy[field] : undefined;
        if (!loader) throw invalid("field", `${service}.${model} cannot be looked up by ${String(field)}.`);
        const type = m.fields.find((f) => f.name === field)?.type;
        const parsed = (type === "uuid" ? argSchemas().uuidValues : argSchemas().stringValues).safeParse(values);
        if (!parsed.success) throw invalid("values", `values must be at most ${FIND_BY_MAX_VALUES} ${type === "uuid" ? "UUIDs" : "strings"}.`);
        if (!argSchemas().perValue.safeParse(perValue).success) throw invalid("per_value", `perValue must be an integer from 1 to ${FIND_BY_MAX_PER_VALUE}.`);
        const unique = [...new Set(parsed.data)];
        return unique.length ? loader(env, identity.organization_id, unique, perValue) : [];
      });
    }

    async findBySubject(subject: PrivacySubject, context: unknown): Promise<RpcResult<SubjectRecords[]>> {
      return guarded({ env: this.env, ctx: this.ctx }, { method: "findBySubject" }, context, async (identity, env) => {
        const who = parseSubject(subject);
        const { personalModels } = await prepared();
        const out: SubjectRecords[] = [];
        for (const [name, m] of personalModels) {
          const found = await m.personalData.find!(env, identity.organization_id, who, PRIVACY_MAX_RECORDS + 1);
          out.push({
            model: name,
            erasure: structuredClone(m.personalData.erasure),
            records: found.slice(0, PRIVACY_MAX_RECORDS),
            truncated: found.length > PRIVACY_MAX_RECORDS,
          });
        }
        return out;
      });
    }

    async eraseBySubject(
      subject: PrivacySubject,
      options: { dry_run: boolean; held: Record<string, string[]> },
      context: unknown,
    ): Promise<RpcResult<ErasureStep[]>> {
      return guarded({ env: this.env, ctx: this.ctx }, { method: "eraseBySubject" }, context, async (identity, env) => {
        const who = parseSubject(subject);
        const opts = argSchemas().eraseOptions.safeParse(options);
        if (!opts.success) throw invalid("options", "options must be { dry_run, held }.");
        const { personalModels } = await prepared();
        const steps: ErasureStep[] = [];
        for (const [name, m] of [...personalModels].reverse()) {
          const found = await m.personalData.find!(env, identity.organization_id, who, PRIVACY_MAX_RECORDS + 1);
          const ids = found.slice(0, PRIVACY_MAX_RECORDS).map((r) => String(r.id));
          const heldIds = new Set(Object.hasOwn(opts.data.held, name) ? opts.data.held[name] : []);
          const rule = m.personalData.erasure;
          const held = ids.filter((id) => heldIds.has(id));
          let todo = rule.action === "keep" ? [] : ids.filter((id) => !heldIds.has(id));
          let objects = 0;
          if (!opts.data.dry_run && todo.length) {
            const done = await m.personalData.erase!(env, identity.organization_id, todo, who);
            objects = done.objects_deleted;
            const dependent = new Set(done.held ?? []);
            held.push(...todo.filter((id) => dependent.has(id)));
            todo = todo.filter((id) => !dependent.has(id));
          }
          steps.unshift({
            model: name,
            action: rule.action,
            ids: todo,
            held,
            kept: rule.action === "keep" ? ids : [],
            legal_basis: rule.action === "keep" ? rule.legal_basis : null,
            objects_deleted: objects,
            remaining: found.length > PRIVACY_MAX_RECORDS,
          });
        }
        return steps;
      });
    }

    async search(query: string, modelNames: string[], limit: number, context: unknown): Promise<RpcResult<SearchHit[]>> {
      return guarded({ env: this.env, ctx: this.ctx }, { method: "search" }, context, async (identity, env) => {
        const q = argSchemas().query.safeParse(query);
        if (!q.success) throw invalid("q", `The query must hold 1 to ${SEARCH_MAX_QUERY_LENGTH} characters.`);
        const names = argSchemas().modelNames.safeParse(modelNames);
        if (!names.success) throw invalid("models", "models must be a list of model names.");
        if (!argSchemas().limit.safeParse(limit).success) throw invalid("limit", `limit must be an integer from 1 to ${SEARCH_MAX_HITS}.`);
        const { catalog, modelNamed } = await prepared();
        const wanted = names.data.length ? [...new Set(names.data)] : catalog.models.filter((m) => m.searchable).map((m) => m.name);
        const searchers = wanted.map((name) => {
          const search = modelNamed(name).search;
          if (!search) throw invalid("models", `${service}.${name} is not searchable.`);
          return search;
        });
        const lists = await Promise.all(searchers.map((search) => search(env, identity.organization_id, q.data, limit)));
        // Best first; a stable sort keeps each model's own order among equal scores.
        return lists
          .flat()
          .sort((a, b) => b.score - a.score)
          .slice(0, limit);
      });
    }
  };
}
