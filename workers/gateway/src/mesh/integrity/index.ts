import type { Context, MiddlewareHandler } from "hono";
import { ApiError, GET_MANY_MAX_IDS, readBytesLimited, type FieldError, type IdentityContext, type MeshField } from "@buildly/shared";
import { actionFor } from "../../identity/rbac";
import { identityFor } from "../../upstream/identity-context";
import type { ServiceEntry } from "../../upstream/registry";
import type { GatewayEnv } from "../../types";
import { meshCall, serverTimingValue, type MeshCaller } from "../calls";
import { meshCatalog, modelWrittenAt } from "../catalog/catalog";

/*
 * Referential integrity across services. A service checks references to its own records; only
 * the gateway sees every service, so it checks the others: a JSON write (POST, PUT, PATCH) to a
 * model whose catalog declares a field referencing another service's model is refused with 422
 * when a referenced record does not exist in the caller's organization. One batched getMany per
 * referenced model. Existence is checked whatever the caller may read: it reveals only whether
 * an id exists in the caller's own organization, which is what the write needs.
 *
 * Fail closed: if a referenced service (or the target's catalog) cannot be asked, the write is
 * refused with 503 rather than let through unchecked. Bodies the gateway cannot read cheaply are
 * not buffered: any write to a model without such references, and any non-JSON body (uploads),
 * streams through untouched; a JSON body to a model with such references is read whole, up to
 * MAX_CHECKED_BYTES (and the service's own limit), and sent on as read.
 */

export const MAX_CHECKED_BYTES = 1024 * 1024;
const WRITES = new Set(["POST", "PUT", "PATCH"]);
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Each (path, id) a field names in the body: `contact_id` or `attendees[].contact_id`. Not-UUIDs are the service's to refuse. */
function referencedIds(body: unknown, field: MeshField): { path: string; id: string }[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return [];
  const record = body as Record<string, unknown>;
  const nested = /^([^[\].]+)\[\]\.([^[\].]+)$/.exec(field.name);
  const found: { path: string; id: string }[] = [];
  const take = (path: string, value: unknown) => {
    if (typeof value === "string" && UUID.test(value)) found.push({ path, id: value.toLowerCase() });
  };
  if (!nested) {
    if (Object.hasOwn(record, field.name)) take(field.name, record[field.name]);
    return found;
  }
  const [, list, key] = nested as unknown as [string, string, string];
  const items = Object.hasOwn(record, list) ? record[list] : undefined;
  if (!Array.isArray(items)) return found;
  items.forEach((item, i) => {
    if (typeof item === "object" && item !== null && Object.hasOwn(item, key)) take(`${list}.${i}.${key}`, (item as Record<string, unknown>)[key]);
  });
  return found;
}

function unavailable(what: string, service: string): ApiError {
  return new ApiError(
    503,
    `The references to ${what} cannot be checked right now (the ${service} service is unavailable); the write was not made. Try again.`,
    {
      extensions: { service },
    },
  );
}

/** Runs after `authenticate` on every service route (see upstream/index.ts). */
export const referenceIntegrity: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const entry = c.get("entry");
  const method = c.req.method;
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!entry || !WRITES.has(method) || !JSON_TYPE.test(type) || !c.req.raw.body) return next();
  // A caller who may not write gets the service route's 403, not an answer about references.
  const action = actionFor(method);
  if (!action || !c.get("permissions")?.[entry.name]?.includes(action)) return next();

  try {
    await check(c, entry);
  } catch (err) {
    // The refusal carries the timings of the calls that led to it.
    const timing = serverTimingValue(c);
    if (err instanceof ApiError && timing) err.headers["server-timing"] = timing;
    throw err;
  }
  await next();
  const timing = serverTimingValue(c);
  if (timing) c.res.headers.append("server-timing", timing);
};

/** Throws 422 for a reference to a missing record, 503 when it cannot tell; returns when the write may go on. */
async function check(c: Context<GatewayEnv>, entry: ServiceEntry): Promise<void> {
  const method = c.req.method;
  const rest = new URL(c.req.url).pathname.slice(entry.prefix.length) || "/";
  const fields = await referencingFields(c, entry, method, rest);
  if (!fields.length) return;

  const bytes = await readBytesLimited(c.req.raw, Math.min(entry.max_body_bytes, MAX_CHECKED_BYTES));
  // Sent on exactly as read (the stream is spent).
  c.req.raw = new Request(c.req.raw, { body: bytes });
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return; // Malformed JSON: the service answers 400.
  }
  const errors = await missingReferences(c, identityFor(c), fields, body);
  if (errors.length) throw refused(errors);
}

function refused(errors: FieldError[]): ApiError {
  return new ApiError(422, "The body references records that do not exist in this organization.", { errors });
}

/** The fields of the model a `method` to `rest` writes that reference another service's model (none: nothing to check). */
async function referencingFields(c: MeshCaller, entry: ServiceEntry, method: string, rest: string): Promise<MeshField[]> {
  const own = (await meshCatalog(c, [entry.name])).services[0];
  if (!own) throw unavailable(`the ${entry.name} service's models`, entry.name);
  const model = modelWrittenAt(own.catalog, method, rest);
  return model?.fields.filter((f) => f.references && f.references.service !== entry.name) ?? [];
}

/**
 * The check a direct write gets, for the gateway's other ways to write a record: a joined write's
 * embedded records and a workflow's `create` and `update` actions. `rest` is the path below the
 * service's prefix, `body` the parsed JSON. Throws 422 (error paths under `errorPrefix`) for a
 * reference to a record missing from the caller's organization, 503 when it cannot tell.
 */
export async function assertReferencesExist(
  c: MeshCaller,
  identity: IdentityContext,
  entry: ServiceEntry,
  write: { method: string; rest: string; body: unknown; errorPrefix?: string },
): Promise<void> {
  const fields = await referencingFields(c, entry, write.method.toUpperCase(), write.rest);
  if (!fields.length) return;
  const errors = await missingReferences(c, identity, fields, write.body);
  if (errors.length) throw refused(errors.map((e) => ({ ...e, path: [write.errorPrefix, e.path].filter(Boolean).join(".") })));
}

/** One batched getMany per referenced model; the errors name each reference to a missing record. */
async function missingReferences(c: MeshCaller, identity: IdentityContext, fields: MeshField[], body: unknown): Promise<FieldError[]> {
  const wanted = new Map<string, { path: string; id: string }[]>();
  for (const field of fields) {
    const target = `${field.references!.service}.${field.references!.model}`;
    const uses = referencedIds(body, field);
    if (uses.length) wanted.set(target, [...(wanted.get(target) ?? []), ...uses]);
  }
  if (!wanted.size) return [];
  const catalog = await meshCatalog(c, [...new Set([...wanted.keys()].map((target) => target.split(".")[0]!))]);

  const checks = await Promise.all(
    [...wanted].map(async ([target, uses]) => {
      const [service, name] = target.split(".") as [string, string];
      const referenced = catalog.models.get(target);
      if (!referenced) {
        if (Object.hasOwn(catalog.errors, service)) throw unavailable(target, service);
        // The catalog names a model no service describes: nothing can exist there.
        return uses.map((u) => ({ path: u.path, message: `No ${target} record with id ${u.id} exists in this organization` }));
      }
      const ids = [...new Set(uses.map((u) => u.id))];
      if (ids.length > GET_MANY_MAX_IDS) {
        throw new ApiError(422, `A write may reference at most ${GET_MANY_MAX_IDS} ${target} records.`, {
          errors: [{ path: uses[0]!.path, message: "Too many references" }],
        });
      }
      const found = await meshCall(c, referenced.entry, "getMany", referenced.entry.timeout_ms, (stub, traceparent) =>
        stub.getMany(name, ids, { ...identity, traceparent }),
      );
      if (!found.ok) throw unavailable(target, service);
      const existing = new Set(found.data.map((r) => String(r.id).toLowerCase()));
      return uses.filter((u) => !existing.has(u.id)).map((u) => ({ path: u.path, message: `No ${target} record with id ${u.id} exists in this organization` }));
    }),
  );
  return checks.flat();
}
