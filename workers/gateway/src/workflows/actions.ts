import { ApiError, callService, toHex, type IdentityContext, type Problem } from "@buildly/shared";
import { actionFor } from "../identity/rbac";
import { checkReferencesOf } from "../mesh";
import { withDeadline } from "../upstream/deadline";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import type { ActionOutcome, Actor, ServiceActionDef, Subject } from "./schemas";

/** What placeholders in an action ({{data.x}}, {{subject.id}}, ...) are filled from. */
export interface ActionScope {
  instance: { id: string; version: number; state: string };
  subject: Subject | null;
  data: Record<string, unknown>;
  actor: Actor;
}

const WHOLE = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;
const EMBEDDED = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

function lookup(scope: ActionScope, path: string): unknown {
  let value: unknown = scope;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Fills placeholders: a string that is only a placeholder takes the value itself (any JSON type), others interpolate. */
export function fill(value: unknown, scope: ActionScope): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole) return lookup(scope, whole[1]!);
    return value.replace(EMBEDDED, (_, path: string) => {
      const v = lookup(scope, path);
      return v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, scope));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, scope)]));
  return value;
}

/**
 * The idempotency key of one action of one attempt at a transition: the instance, the version it
 * starts from, the transition and the action's place. A retry of the same transition at the same
 * version (after a crash, or a client's retry after a failure elsewhere) carries the same key.
 */
export function actionKey(instanceId: string, version: number, transition: string, index: number, attempt = 0): string {
  // Attempt 0 keeps the key's first form. A failed attempt whose done actions were undone moves
  // to the next attempt, so a retry runs them afresh (with whatever data it brings).
  return `workflow:${instanceId}:v${version}:${transition}:${index}${attempt ? `:a${attempt}` : ""}`;
}

/** How to take back one done action when a later one fails: its label (for `not_undone`) and the call, if there is one. */
export interface Undo {
  label: string;
  run?: () => Promise<void>;
}

/** The identity for undoing: the caller's, allowed to read, update and delete on that service, since it only takes back this transition's own writes. */
function undoIdentity(identity: IdentityContext, service: string): IdentityContext {
  return { ...identity, permissions: { ...identity.permissions, [service]: ["create", "read", "update", "delete"] } };
}

type Stub = NonNullable<ReturnType<typeof serviceBinding>>;
type Entry = ReturnType<typeof serviceRegistry>[number];

async function call(entry: Entry, stub: Stub, identity: IdentityContext, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { "x-request-id": identity.request_id };
  if (body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`https://${entry.name}.internal${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return withDeadline(entry.name, entry.timeout_ms, () => callService(stub, request, identity));
}

/** The fields an update will overwrite, as they are now (null for absent ones); undefined if the record cannot be read. */
async function fieldsBefore(
  entry: Entry,
  stub: Stub,
  identity: IdentityContext,
  service: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown> | undefined> {
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  try {
    const res = await call(entry, stub, undoIdentity(identity, service), "GET", path);
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const record = (await res.json()) as Record<string, unknown>;
    return Object.fromEntries(Object.keys(body).map((k) => [k, record[k] ?? null]));
  } catch {
    return undefined;
  }
}

async function expectOk(res: Response, what: string): Promise<void> {
  const text = await res.text();
  // A record already gone is as undone as it gets.
  if (!res.ok && res.status !== 404) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 200)}`);
}

async function fingerprint(method: string, path: string, body: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${method} ${path}\n${body}`)));
}

/** A service's detail as one sentence: ends with exactly one stop, whether it brought one or not. */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function failed(detail: string, index: number, action: ServiceActionDef, status: number, cause?: Problem): ApiError {
  const extensions: Record<string, unknown> = { action: { index, type: action.type, service: action.service, model: action.model, status } };
  if (cause) extensions.cause = { status: cause.status, title: cause.title, detail: cause.detail, errors: cause.errors };
  return new ApiError(424, detail, { type: "https://buildly.dev/problems/action-failed", title: "Failed Dependency", extensions });
}

/**
 * Runs one create/update action with the actor's identity and permissions, through the service's
 * RPC entrypoint as the gateway's proxy does. "Not applied twice" is kept by the gateway's own
 * IdempotencyStore (the Durable Object behind Idempotency-Key on /v1): the key is claimed before
 * the call, a 2xx answer is stored under it, and a retry with the same key gets that stored
 * answer back without calling the service again. A refused or failed call releases the key, so
 * fixing the cause and retrying runs the action again. The key also travels to the service as
 * the Idempotency-Key header.
 */
export async function runServiceAction(
  env: Env,
  identity: IdentityContext,
  action: ServiceActionDef,
  index: number,
  key: string,
  scope: ActionScope,
  /** The action's span (W3C traceparent), only while telemetry records: the idempotency store's calls continue it. */
  trace?: string,
): Promise<{ outcome: ActionOutcome; undo: Undo }> {
  const entry = serviceRegistry(env).find((e) => e.name === action.service);
  if (!entry) throw failed(`Action ${index + 1}: the ${action.service} service is no longer behind the gateway.`, index, action, 404);
  const method = action.type === "create" ? "POST" : "PATCH";
  const needed = actionFor(method)!;
  if (!identity.permissions[action.service]?.includes(needed)) {
    throw new ApiError(403, `This transition's action ${index + 1} needs ${needed} on the ${action.service} service, which your roles do not allow.`);
  }
  const stub = serviceBinding(env, entry);
  if (!stub) throw new ApiError(502, `The ${action.service} service is not bound to the gateway.`);

  let path = `/${action.model}`;
  if (action.type === "update") {
    const id = fill(action.id ?? "", scope);
    if (typeof id !== "string" || id === "") throw failed(`Action ${index + 1}: the record to update (${action.id}) is empty.`, index, action, 422);
    path += `/${encodeURIComponent(id)}`;
  }
  const filled = fill(action.body, scope);
  const body = JSON.stringify(filled);
  const fp = await fingerprint(method, path, body);
  const store = env.IDEMPOTENCY.getByName(`${identity.organization_id}:${key}`);
  const begun = await store.begin(fp, trace);
  const outcome = (status: number, text: string, replayed: boolean): ActionOutcome => {
    let id: string | null = null;
    try {
      const parsed = JSON.parse(text) as { id?: unknown };
      if (typeof parsed.id === "string") id = parsed.id;
    } catch {
      // Not JSON: no id to report.
    }
    return { type: action.type, service: action.service, model: action.model, status, id, replayed };
  };
  const label = (id: string | null) => `${action.type === "create" ? "delete" : "restore"} ${action.service} ${action.model} ${id ?? path}`;
  const undoFor = (done: ActionOutcome, before: Record<string, unknown> | undefined): Undo => {
    const id = done.id;
    if (action.type === "create") {
      if (!id) return { label: label(null) };
      const at = `/${action.model}/${encodeURIComponent(id)}`;
      return { label: label(id), run: async () => expectOk(await call(entry, stub, undoIdentity(identity, action.service), "DELETE", at), `DELETE ${at}`) };
    }
    // An update replayed from an earlier attempt: what it overwrote is not known here.
    if (!before) return { label: label(id) };
    return {
      label: label(id),
      run: async () => expectOk(await call(entry, stub, undoIdentity(identity, action.service), "PATCH", path, before), `PATCH ${path}`),
    };
  };
  if (begun.state === "done") {
    const done = outcome(begun.response.status, new TextDecoder().decode(begun.response.body), true);
    return { outcome: done, undo: undoFor(done, undefined) };
  }
  if (begun.state === "in_flight")
    throw new ApiError(409, "This transition's action is still running from an earlier attempt. Retry in a moment.", { headers: { "retry-after": "1" } });
  if (begun.state === "mismatch") {
    throw new ApiError(409, `Action ${index + 1} already ran at this version with other values (another attempt's data). Reload the instance and retry.`);
  }

  // The reference check a direct write of this body gets (a 422 from it fails the action as the service's would).
  try {
    await checkReferencesOf(env, identity, entry, { method, rest: path, body: filled });
  } catch (err) {
    await store.release(fp, trace);
    if (err instanceof ApiError && err.status === 422) {
      const cause = err.toProblem(identity.request_id);
      throw failed(
        `Action ${index + 1} (${method} ${action.service} ${path}) failed with 422: ${sentence(err.message)} The state is unchanged.`,
        index,
        action,
        422,
        cause,
      );
    }
    throw err;
  }

  const before = action.type === "update" ? await fieldsBefore(entry, stub, identity, action.service, path, filled) : undefined;
  const request = new Request(`https://${entry.name}.internal${path}`, {
    method,
    headers: { "content-type": "application/json", "idempotency-key": key, "x-request-id": identity.request_id },
    body,
  });
  let response: Response;
  try {
    response = await withDeadline(entry.name, entry.timeout_ms, () => callService(stub, request, identity));
  } catch (err) {
    await store.release(fp, trace);
    throw err;
  }
  const text = await response.text();
  if (response.status >= 200 && response.status < 300) {
    const headers = [...response.headers].filter(([k]) => k !== "x-request-id") as [string, string][];
    await store.complete(fp, { status: response.status, headers, body: new TextEncoder().encode(text).buffer as ArrayBuffer }, trace);
    const done = outcome(response.status, text, false);
    return { outcome: done, undo: undoFor(done, before) };
  }
  await store.release(fp, trace);
  if (response.status >= 500)
    throw new ApiError(502, `The ${action.service} service failed while running this transition's action ${index + 1}.`, {
      extensions: { service: action.service },
    });
  let cause: Problem | undefined;
  try {
    cause = JSON.parse(text) as Problem;
  } catch {
    cause = undefined;
  }
  const what = `${action.type === "create" ? "POST" : "PATCH"} ${action.service} ${path}`;
  throw failed(
    `Action ${index + 1} (${what}) failed with ${response.status}${cause?.detail ? `: ${sentence(cause.detail)}` : "."} The state is unchanged.`,
    index,
    action,
    response.status,
    cause,
  );
}
