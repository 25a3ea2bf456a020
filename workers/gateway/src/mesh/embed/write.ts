import type { Context } from "hono";
import { z } from "zod";
import {
  ApiError,
  PROBLEM_CONTENT_TYPE,
  logError,
  newId,
  nowIso,
  readBytesLimited,
  type FieldError,
  type IdentityContext,
  type MeshModel,
  type PermissionAction,
} from "@buildly/shared";
import { idempotencyKey, idempotent, IDEMPOTENT_MAX_BYTES, keyOwnerOf } from "../../limits/idempotency";
import { identityFor } from "../../upstream/identity-context";
import { dispatch, forwardedHeaders } from "../../upstream/proxy";
import type { ServiceEntry } from "../../upstream/registry";
import type { GatewayEnv } from "../../types";
import { assertReferencesExist } from "../integrity";
import { isLocalService } from "../local";
import { catalogView } from "../models";
import { MESH_QUOTAS, quotaExceeded } from "../quotas";
import { withoutJoin } from "../join-param";
import { isJson, joinedResponse } from "./response";
import type { JoinPath, ModelRef } from "../relationships/relationship";
import { entryOf, getMany, type Row } from "../rpc";
import { EMBED_LIMIT, embedRelated } from "./read";
import { isPlainField } from "./field-path";

const ItemSchema = z.union([
  z.object({ id: z.uuid() }).strict(),
  z.record(z.string(), z.unknown()).refine((o) => !("id" in o), { message: "A new record has no id; an existing one is { id } alone" }),
]);
const EmbeddedSchema = z.record(z.string(), z.array(ItemSchema).max(EMBED_LIMIT));

/**
 * At most this many embedded records in one joined write, over all its keys: each costs a service
 * call or two (and an undo when a later step fails), and the rate limiter charges each call.
 */
export const MAX_EMBEDDED_RECORDS = 25;

/** One step that has been done, and how to take it back. */
interface Undo {
  label: string;
  run: () => Promise<void>;
}

/** A step that failed: why, for the problem the client gets. */
class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }
}

type Located = { model: MeshModel; id: string | null };

/**
 * `POST`/`PATCH` with `?join=` and `_embedded` in the body: the main write without `_embedded`,
 * then the related records it names (new ones created in their own service, existing ones by
 * id), linked as the relationship's kind requires. When a step fails, every step done before it
 * is undone in reverse order and the problem names the step. With an Idempotency-Key the whole
 * joined write runs at most once.
 */
export async function joinedWrite(c: Context<GatewayEnv>, entry: ServiceEntry, url: URL, at: Located, paths: JoinPath[]): Promise<Response> {
  const method = c.req.method;
  if ((method === "POST") !== (at.id === null)) {
    throw new ApiError(422, "A joined write is a POST to a model's collection or a PATCH of one of its records.", {
      errors: [{ path: "join", message: "Not available on this path" }],
    });
  }
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new ApiError(415, "A joined write takes a JSON body (content-type: application/json).");
  }
  const maxBytes = Math.min(entry.max_body_bytes, IDEMPOTENT_MAX_BYTES);
  const run = (bytes: Uint8Array) => new JoinedWrite(c, entry, url, at, paths).run(bytes);
  const key = idempotencyKey(c);
  if (key !== undefined) return idempotent(c, keyOwnerOf(c), key, maxBytes, run);
  return run(await readBytesLimited(c.req.raw, maxBytes));
}

class JoinedWrite {
  private readonly undo: Undo[] = [];
  private readonly identity: IdentityContext;

  constructor(
    private readonly c: Context<GatewayEnv>,
    private readonly entry: ServiceEntry,
    private readonly url: URL,
    private readonly at: Located,
    private readonly paths: JoinPath[],
  ) {
    this.identity = identityFor(c);
  }

  async run(bytes: Uint8Array): Promise<Response> {
    const { main, embedded } = this.parse(bytes);
    this.checkPermissions(embedded);
    const catalog = await catalogView(this.c, [...new Set(embedded.map((e) => e.path.to.service))]);
    const modelOf = (ref: ModelRef) => {
      const m = catalog.model(ref);
      if (!m) throw new ApiError(502, `The catalog has no model ${ref.service} ${ref.model}.`);
      return m;
    };
    const existing = await this.loadExisting(embedded);
    await this.checkReferences(embedded, modelOf);
    // What a PATCH will change: the body's fields and the fields step 1 sets.
    const changed = [...Object.keys(main), ...embedded.filter((e) => e.path.mode === "holds").map((e) => e.path.relationship.field!)];
    const previousMain = this.at.id ? await this.previousValues({ service: this.entry.name, model: this.at.model.name }, this.at.id, changed) : undefined;

    try {
      // 1. Records the main record will point at (it holds the field): they must exist first.
      for (const { path, items } of embedded.filter((e) => e.path.mode === "holds")) {
        const item = items[0]!;
        main[path.relationship.field!] = "id" in item ? item.id : await this.create(path, modelOf(path.to), item, 0);
      }
      // 2. The main write.
      const record = await this.writeMain(main, previousMain);
      const mainId = record.id as string;
      // 3. Records that point at the main record, and join records.
      const links: { path: JoinPath; to: string }[] = [];
      for (const { path, items } of embedded.filter((e) => e.path.mode !== "holds")) {
        for (const [i, item] of items.entries()) {
          const isExisting = "id" in item;
          const field = path.relationship.field!;
          if (path.mode === "held") {
            if (isExisting) await this.repoint(path, modelOf(path.to), item.id as string, mainId, existing.get(item.id as string)?.[field], i);
            else await this.create(path, modelOf(path.to), { ...item, [field]: mainId }, i);
          } else {
            links.push({ path, to: isExisting ? (item.id as string) : await this.create(path, modelOf(path.to), item, i) });
          }
        }
      }
      await this.link(mainId, links);

      const complete = await embedRelated(this.c, this.paths, [record]);
      return joinedResponse(record, this.mainResponse!, complete);
    } catch (err) {
      const notUndone = await this.compensate();
      if (err instanceof StepFailed) {
        throw new ApiError(
          err.status,
          `${err.step} failed: ${err.detail} Nothing of this request was kept${notUndone.length ? " except what could not be undone (see not_undone)" : ""}.`,
          {
            errors: err.errors,
            extensions: { failed_step: err.step, ...(notUndone.length ? { not_undone: notUndone } : {}) },
          },
        );
      }
      if (notUndone.length) logError(this.c.get("requestId"), "gateway", err, { during: "joined write", not_undone: notUndone });
      throw err;
    }
  }

  private mainResponse?: Response;

  /** The body without `_embedded`, and each key's items (validated; only keys named in `join`). */
  private parse(bytes: Uint8Array) {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new ApiError(400, "The body is not valid JSON.");
    }
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw new ApiError(422, "The body must be a JSON object.", { errors: [{ path: "", message: "Expected an object" }] });
    const { _embedded: raw, ...main } = body as Row;
    const parsed = EmbeddedSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      throw new ApiError(422, "_embedded must map join keys to lists of new records or { id } of existing ones.", {
        errors: parsed.error.issues.map((i) => ({ path: ["_embedded", ...i.path.map(String)].join("."), message: i.message })),
      });
    }
    const total = Object.values(parsed.data).reduce((n, items) => n + items.length, 0);
    if (total > MAX_EMBEDDED_RECORDS) {
      throw new ApiError(422, `A joined write takes at most ${MAX_EMBEDDED_RECORDS} embedded records in all; this one has ${total}.`, {
        errors: [{ path: "_embedded", message: `At most ${MAX_EMBEDDED_RECORDS} records` }],
      });
    }
    const errors: FieldError[] = [];
    const embedded: { path: JoinPath; items: Row[] }[] = [];
    for (const [key, items] of Object.entries(parsed.data)) {
      const path = this.paths.find((p) => p.key === key);
      if (!path) {
        errors.push({ path: `_embedded.${key}`, message: `${key} is not in ?join=` });
        continue;
      }
      if (!items.length) continue;
      const field = path.relationship.field;
      if (isLocalService(path.to.service)) {
        errors.push({
          path: `_embedded.${key}`,
          message: `${path.to.service} ${path.to.model} records are written through their own routes (/v1/${path.to.service})`,
        });
      } else if (path.mode !== "join" && !isPlainField(field!)) {
        errors.push({ path: `_embedded.${key}`, message: `Written through ${field}, which a joined write cannot set; write the related record directly` });
      } else if (path.mode === "holds" && items.length > 1) {
        errors.push({ path: `_embedded.${key}`, message: `${field} holds one id: give one record` });
      } else embedded.push({ path, items: items as Row[] });
    }
    if (errors.length) throw new ApiError(422, "The embedded records cannot be written.", { errors });
    return { main, embedded };
  }

  /**
   * Everything is checked before anything is written: `create` on the related service for new
   * records, `read` to link existing ones, `update` on the service of the records whose field
   * changes, and `update` on the origin's service for join records (as POST /v1/mesh/joins).
   */
  private checkPermissions(embedded: { path: JoinPath; items: Row[] }[]) {
    const missing: FieldError[] = [];
    const need = (service: string, action: PermissionAction, key: string) => {
      if (!this.identity.permissions[service]?.includes(action))
        missing.push({ path: `_embedded.${key}`, message: `Needs ${action} on the ${service} service` });
    };
    for (const { path, items } of embedded) {
      const hasNew = items.some((i) => !("id" in i));
      const hasExisting = items.some((i) => "id" in i);
      if (hasNew) need(path.to.service, "create", path.key);
      if (hasExisting) need(path.to.service, path.mode === "held" ? "update" : "read", path.key);
      if (path.mode === "join") need(path.relationship.origin.service, "update", path.key);
    }
    if (missing.length) throw new ApiError(403, "Your roles do not allow writing these embedded records.", { errors: missing });
  }

  /** The existing records named by id, in one getMany per key; 422 for ids that are not there. */
  private async loadExisting(embedded: { path: JoinPath; items: Row[] }[]): Promise<Map<string, Row>> {
    const found = new Map<string, Row>();
    const errors: FieldError[] = [];
    await Promise.all(
      embedded.map(async ({ path, items }) => {
        const ids = items.flatMap((i) => ("id" in i ? [i.id as string] : []));
        if (!ids.length) return;
        const rows = await getMany(this.c, path.to, ids);
        for (const r of rows) found.set(r.id as string, r);
        items.forEach((item, i) => {
          if ("id" in item && !rows.some((r) => r.id === item.id))
            errors.push({ path: `_embedded.${path.key}.${i}.id`, message: `No ${path.to.service} ${path.to.model} record has this id` });
        });
      }),
    );
    if (errors.length) throw new ApiError(422, "Some embedded records do not exist.", { errors });
    return found;
  }

  /**
   * The new embedded records get the reference check a direct POST of them gets (mesh/integrity),
   * before anything is written. The relationship's own field is left out: the mesh sets it to the
   * main record, which does not exist yet.
   */
  private async checkReferences(embedded: { path: JoinPath; items: Row[] }[], modelOf: (ref: ModelRef) => MeshModel) {
    const writes = embedded.flatMap(({ path, items }) =>
      items.flatMap((item, i) => {
        if ("id" in item) return [];
        const body = { ...item };
        if (path.mode === "held") delete body[path.relationship.field!];
        return [{ entry: entryOf(this.c, path.to.service), rest: modelOf(path.to).path, body, errorPrefix: `_embedded.${path.key}.${i}` }];
      }),
    );
    const results = await Promise.all(
      writes.map(async (w): Promise<FieldError[]> => {
        try {
          await assertReferencesExist(this.c, this.identity, w.entry, { method: "POST", ...w });
          return [];
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 422 || !err.errors) throw err;
          return err.errors;
        }
      }),
    );
    const refused = results.flat();
    if (refused.length) throw new ApiError(422, "The embedded records reference records that do not exist in this organization.", { errors: refused });
  }

  /** What a PATCH will overwrite, to put back if a later step fails. */
  private async previousValues(ref: ModelRef, id: string, fields: string[]): Promise<Row> {
    const [row] = await getMany(this.c, ref, [id]);
    if (!row) throw new ApiError(404, `No ${ref.model} record has this id.`);
    return Object.fromEntries(fields.filter((f) => f in row).map((f) => [f, row[f]]));
  }

  private headers(entry: ServiceEntry): Headers {
    const headers = new Headers({ "content-type": "application/json", "x-request-id": this.c.get("requestId"), "x-forwarded-prefix": entry.prefix });
    const traceparent = this.c.get("traceparent");
    if (traceparent) headers.set("traceparent", traceparent);
    return headers;
  }

  /** A request to a service's handle; a non-2xx answer or a failed call is the step's failure. */
  private async send(
    step: string,
    entry: ServiceEntry,
    init: { method: string; path: string; body?: Row; headers?: Headers; identity?: IdentityContext },
    errorPrefix = "",
  ) {
    let response: Response;
    try {
      response = await dispatch(this.c, entry, {
        method: init.method,
        path: init.path,
        headers: init.headers ?? this.headers(entry),
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        identity: init.identity,
      });
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(502, `The ${entry.name} service failed to answer.`);
      if (e.status >= 500) logError(this.c.get("requestId"), "gateway", (err as { cause?: unknown }).cause ?? err, { during: step });
      throw new StepFailed(step, e.status, e.message);
    }
    if (response.ok) return response;
    let detail = `The ${entry.name} service answered ${response.status}.`;
    let errors: FieldError[] | undefined;
    if (response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)) {
      const p = (await response.json()) as { detail?: string; errors?: FieldError[] };
      if (p.detail) detail = p.detail;
      errors = p.errors?.map((e) => ({ path: [errorPrefix, e.path].filter(Boolean).join("."), message: e.message }));
    } else await response.body?.cancel();
    throw new StepFailed(step, response.status >= 500 ? 502 : response.status, detail, errors);
  }

  private async writeMain(body: Row, previous: Row | undefined): Promise<Row> {
    const step = `${this.c.req.method} ${this.entry.prefix}${this.at.model.path}${this.at.id ? `/${this.at.id}` : ""}`;
    const path = `${this.url.pathname.slice(this.entry.prefix.length)}${withoutJoin(this.url)}`;
    const headers = forwardedHeaders(this.c, this.entry, ["content-length", "idempotency-key"]);
    headers.set("content-type", "application/json");
    const response = await this.send(step, this.entry, { method: this.c.req.method, path, body, headers });
    if (!isJson(response)) throw new StepFailed(step, 502, `The ${this.entry.name} service did not answer with a JSON record.`);
    const record = (await response.json()) as Row;
    this.mainResponse = response;
    if (typeof record.id !== "string") throw new StepFailed(step, 502, `The ${this.entry.name} service answered without the record's id.`);
    const ref = { service: this.entry.name, model: this.at.model.name };
    if (previous) this.undo.push({ label: `restore ${ref.model} ${record.id}`, run: () => this.patch(ref, this.at.model, record.id as string, previous) });
    else this.undo.push({ label: `delete ${ref.model} ${record.id}`, run: () => this.remove(ref, this.at.model, record.id as string) });
    return record;
  }

  /** A new related record through its service's own create route; undone by deleting it. */
  private async create(path: JoinPath, model: MeshModel, body: Row, index: number): Promise<string> {
    const entry = entryOf(this.c, path.to.service);
    const step = `create _embedded.${path.key}[${index}] (POST ${entry.prefix}${model.path})`;
    const response = await this.send(step, entry, { method: "POST", path: model.path, body }, `_embedded.${path.key}.${index}`);
    const record = (await response.json().catch(() => ({}))) as Row;
    if (typeof record.id !== "string") throw new StepFailed(step, 502, `The ${entry.name} service answered without the record's id.`);
    const id = record.id;
    this.undo.push({ label: `delete ${path.to.model} ${id}`, run: () => this.remove(path.to, model, id) });
    return id;
  }

  /** An existing related record's field now names the main record; undone by putting the old value back. */
  private async repoint(path: JoinPath, model: MeshModel, id: string, mainId: string, previous: unknown, index: number): Promise<void> {
    const entry = entryOf(this.c, path.to.service);
    const field = path.relationship.field!;
    const step = `update _embedded.${path.key}[${index}] (PATCH ${entry.prefix}${model.path}/${id})`;
    await this.send(step, entry, { method: "PATCH", path: `${model.path}/${id}`, body: { [field]: mainId } }, `_embedded.${path.key}.${index}`);
    this.undo.push({ label: `restore ${path.to.model} ${id}`, run: () => this.patch(path.to, model, id, { [field]: previous ?? null }) });
  }

  /**
   * The join records, in one statement (all or none): only if they fit the organization's quota,
   * counted in the same statement. A link that already exists is kept as is.
   */
  private async link(mainId: string, links: { path: JoinPath; to: string }[]): Promise<void> {
    if (!links.length) return;
    const now = nowIso();
    const org = this.identity.organization_id;
    const rows = links.map(({ path, to }) => {
      const r = path.relationship;
      const [originId, relatedId] = path.direction === "forward" ? [mainId, to] : [to, mainId];
      return [newId(), r.id, r.origin.service, r.origin.model, originId, r.related.service, r.related.model, relatedId];
    });
    let changes: number;
    try {
      const result = await this.c.env.DB.prepare(
        `INSERT INTO mesh_joins (id, organization_id, relationship_id, origin_service, origin_model, origin_id, related_service, related_model, related_id, created_at)
         SELECT value ->> 0, ?1, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, ?2
         FROM json_each(?3)
         WHERE (SELECT count(*) FROM mesh_joins WHERE organization_id = ?1) + ?4 <= ?5
         ON CONFLICT DO NOTHING`,
      )
        .bind(org, now, JSON.stringify(rows), rows.length, MESH_QUOTAS.join_records)
        .run();
      changes = result.meta.changes;
    } catch (err) {
      logError(this.c.get("requestId"), "gateway", err, { during: "joined write links" });
      throw new StepFailed("link the join records", 500, "The join records could not be stored.");
    }
    if (changes === 0) {
      // Nothing went in: every link was there already, or they do not fit.
      const held = await this.c.env.DB.prepare("SELECT count(*) AS n FROM mesh_joins WHERE organization_id = ?1").bind(org).first<{ n: number }>();
      if ((held?.n ?? 0) + rows.length > MESH_QUOTAS.join_records) {
        const e = quotaExceeded("join_records", "join records", rows.length);
        throw new StepFailed("link the join records", e.status, e.message);
      }
    }
  }

  /**
   * The identity for undoing: the caller's, allowed to delete and update on that service, since it
   * only takes back this request's own writes, and marked as compensation (its events say so).
   */
  private undoIdentity(service: string): IdentityContext {
    return { ...this.identity, compensation: true, permissions: { ...this.identity.permissions, [service]: ["create", "read", "update", "delete"] } };
  }

  private async remove(ref: ModelRef, model: MeshModel, id: string): Promise<void> {
    const entry = entryOf(this.c, ref.service);
    await this.send(`undo`, entry, { method: "DELETE", path: `${model.path}/${id}`, identity: this.undoIdentity(ref.service) });
  }

  private async patch(ref: ModelRef, model: MeshModel, id: string, body: Row): Promise<void> {
    const entry = entryOf(this.c, ref.service);
    await this.send(`undo`, entry, { method: "PATCH", path: `${model.path}/${id}`, body, identity: this.undoIdentity(ref.service) });
  }

  /** Undoes the done steps, last first; returns what could not be undone. */
  private async compensate(): Promise<string[]> {
    const failed: string[] = [];
    for (const step of this.undo.reverse()) {
      try {
        await step.run();
      } catch (err) {
        logError(this.c.get("requestId"), "gateway", err, { during: "joined write compensation", step: step.label });
        failed.push(step.label);
      }
    }
    return failed;
  }
}
