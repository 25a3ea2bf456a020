import type { Context } from "hono";
import { ApiError, logError, PROBLEM_CONTENT_TYPE } from "@buildly/shared";
import { identityFor } from "../upstream/identity-context";
import { dispatch } from "../upstream/proxy";
import type { GatewayEnv } from "../types";
import { unlinkRecord } from "./joins/store";
import { catalogView } from "./models";
import { sameModel, type ModelRef, type Relationship } from "./relationships/relationship";
import { relationshipsOf } from "./relationships/store";
import { entryOf, findBy, getMany, type Row } from "./rpc";

/*
 * What deleting a record does to the records of other services that name it (a relationship's
 * `on_delete`, docs/data-mesh.md). Before a `DELETE /v1/<service><model path>/<id>` is sent on,
 * for each field relationship between two services whose field names records of the deleted
 * model: `restrict` refuses the delete (409) while any record names it; `set_null` clears the
 * field (a list field loses the entries naming it); `cascade` deletes the naming records. Each
 * change is a request to the naming record's own service with the caller's identity, so the
 * caller's roles apply. Bounded: more than MAX_ON_DELETE_RECORDS naming records refuse the delete
 * before anything changes. Nothing half-done: cleared references are put back if a later step
 * (or the DELETE itself) fails; cascaded deletes run last before the DELETE and stop at the first
 * failure, which is reported without sending the DELETE. A cascaded delete does not cascade further.
 * References within one service are the service's own to keep (crm refuses or detaches).
 */

export const MAX_ON_DELETE_RECORDS = 40;

interface Referring {
  relationship: Relationship;
  holder: ModelRef;
  field: string;
  path: string;
  rows: Row[];
}

/** The field relationships whose field names records of `target`, across two services. */
function referringRelationships(relationships: readonly Relationship[], target: ModelRef) {
  const found: { relationship: Relationship; holder: ModelRef; field: string }[] = [];
  for (const r of relationships) {
    if (r.kind !== "field" || !r.field || r.origin.service === r.related.service) continue;
    const [holder, named] = r.field_on === "related" ? [r.related, r.origin] : [r.origin, r.related];
    if (sameModel(named, target)) found.push({ relationship: r, holder, field: r.field });
  }
  return found;
}

/** `attendees[].contact_id` -> ["attendees", "contact_id"]; a plain field -> [field]. */
function splitField(field: string): [string] | [string, string] {
  const nested = /^([^[\].]+)\[\]\.([^[\].]+)$/.exec(field);
  return nested ? [nested[1]!, nested[2]!] : [field];
}

function names(value: unknown, id: string): boolean {
  return typeof value === "string" && value.toLowerCase() === id;
}

/** The PATCH body that stops `row` naming `id`, and the one that puts it back. */
function clearing(row: Row, field: string, id: string): { clear: Row; restore: Row } {
  const [name, key] = splitField(field);
  if (!key) return { clear: { [name]: null }, restore: { [name]: row[name] ?? null } };
  const list = Array.isArray(row[name]) ? (row[name] as unknown[]) : [];
  const kept = list.filter((item) => !(typeof item === "object" && item !== null && names((item as Row)[key], id)));
  return { clear: { [name]: kept }, restore: { [name]: list } };
}

function describe(list: Referring[]) {
  return list.map((r) => ({ relationship: r.relationship.key, service: r.holder.service, model: r.holder.model, count: r.rows.length }));
}

/**
 * Applies the relationships' `on_delete` for a DELETE about to be forwarded; returns what puts
 * cleared references back if the DELETE then fails. Throws (changing nothing, or having put
 * back what it changed) when the delete must not go on.
 */
export async function beforeDelete(c: Context<GatewayEnv>, service: string, rest: string): Promise<(() => Promise<void>) | undefined> {
  // A caller who may not delete gets the service route's 403 from the forward, not an answer about references.
  if (!c.get("permissions")?.[service]?.includes("delete")) return undefined;
  const organizationId = identityFor(c).organization_id;
  const located = (await catalogView(c, [service])).locate(service, rest);
  if (!located?.id) return undefined;
  const target = { service, model: located.model.name };
  const id = located.id;
  const candidates = referringRelationships(await relationshipsOf(c.env.DB, organizationId), target);
  if (!candidates.length) return undefined;

  const catalog = await catalogView(c, [...new Set(candidates.map((r) => r.holder.service))]);
  const referring: Referring[] = [];
  for (const r of candidates) {
    const model = catalog.model(r.holder);
    if (!model) throw new ApiError(503, `The ${r.holder.service} service's models cannot be read right now; the delete was not made. Try again.`);
    const rows = (await findBy(c, r.holder, r.field, [id], MAX_ON_DELETE_RECORDS + 1)).filter((row) => typeof row.id === "string");
    if (rows.length) referring.push({ ...r, path: model.path, rows });
  }
  if (!referring.length) return undefined;
  // A record that is not there is the service's 404 to answer; nothing is changed for it.
  if (!(await getMany(c, target, [id])).length) return undefined;

  const total = referring.reduce((n, r) => n + r.rows.length, 0);
  if (total > MAX_ON_DELETE_RECORDS) {
    throw new ApiError(409, `More than ${MAX_ON_DELETE_RECORDS} records of other services name this record; the delete was not made. Change them first.`, {
      extensions: { referring: describe(referring) },
    });
  }
  const restricted = referring.filter((r) => r.relationship.on_delete === "restrict");
  if (restricted.length) {
    throw new ApiError(409, "Records of other services name this record, and their relationship refuses its delete; the delete was not made.", {
      extensions: { referring: describe(restricted) },
    });
  }
  const cleared = referring.filter((r) => r.relationship.on_delete === "set_null");
  const cascaded = referring.filter((r) => r.relationship.on_delete === "cascade");
  const permissions = c.get("permissions") ?? {};
  for (const [list, action] of [
    [cleared, "update"],
    [cascaded, "delete"],
  ] as const) {
    const refused = list.find((r) => !permissions[r.holder.service]?.includes(action));
    if (refused) {
      throw new ApiError(
        403,
        `Deleting this record would ${action === "update" ? "clear the reference on" : "delete"} ${refused.rows.length} ${refused.holder.model} records, which your roles do not allow (${action} on the ${refused.holder.service} service); the delete was not made.`,
      );
    }
  }

  const undo: { label: string; run: () => Promise<void> }[] = [];
  const putBack = async () => {
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (err) {
        logError(c.get("requestId"), "gateway", err, { during: `on_delete undo: ${step.label}` });
      }
    }
  };
  let deleted = 0;
  try {
    for (const r of cleared) {
      for (const row of r.rows) {
        const { clear, restore } = clearing(row, r.field, id);
        const at = `${r.path}/${row.id as string}`;
        await send(c, r.holder.service, "PATCH", at, clear);
        undo.push({ label: `restore ${r.holder.model} ${row.id as string}`, run: () => send(c, r.holder.service, "PATCH", at, restore) });
      }
    }
    for (const r of cascaded) {
      for (const row of r.rows) {
        await send(c, r.holder.service, "DELETE", `${r.path}/${row.id as string}`);
        deleted++;
        await unlinkRecord(c.env.DB, organizationId, r.holder, row.id as string).catch((err: unknown) =>
          logError(c.get("requestId"), "gateway", err, { during: "mesh unlink after cascaded delete" }),
        );
      }
    }
  } catch (err) {
    await putBack();
    if (err instanceof ApiError && deleted) Object.assign(err.extensions, { cascaded_deletes_made: deleted });
    throw err;
  }
  return undo.length ? putBack : undefined;
}

/** One request to a service's handle on the caller's behalf; a non-2xx answer stops the delete. */
async function send(c: Context<GatewayEnv>, service: string, method: "PATCH" | "DELETE", path: string, body?: Row): Promise<void> {
  const entry = entryOf(c, service);
  const headers = new Headers({ "x-request-id": c.get("requestId"), "x-forwarded-prefix": entry.prefix });
  if (body) headers.set("content-type", "application/json");
  const step = `${method} ${entry.prefix}${path}`;
  let response: Response;
  try {
    response = await dispatch(c, entry, { method, path, headers, body: body ? JSON.stringify(body) : undefined });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) logError(c.get("requestId"), "gateway", err, { during: `on_delete ${step}` });
    throw stopped(step, err instanceof ApiError && err.status < 500 ? err.status : 502, `the ${service} service failed to answer`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  let detail = `the ${service} service answered ${response.status}`;
  if (response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)) {
    const p = (await response.json().catch(() => ({}))) as { detail?: string };
    if (p.detail) detail = `${detail}: ${p.detail}`;
  } else await response.body?.cancel();
  throw stopped(step, response.status >= 500 ? 502 : response.status === 403 ? 403 : 409, detail);
}

function stopped(step: string, status: number, why: string): ApiError {
  return new ApiError(status, `The delete was not made: ${step} failed (${why}); references cleared before it were put back.`, {
    extensions: { failed_step: step },
  });
}
