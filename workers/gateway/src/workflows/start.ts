import { ApiError, newId, nowIso, toHex, type IdentityContext } from "@buildly/shared";
import { withDeadline } from "../upstream/deadline";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import { instanceStub, unwrap } from "./access";
import { deleteIndexRow, forgetInitialData, insertIndexRow } from "./instance-index";
import { DEFAULT_WORKFLOW_QUOTAS, jsonBytes, quotaExceeded, workflowQuotas } from "./quotas";
import type { Actor, InstanceView, Subject, Template, Viewer } from "./schemas";
import { snapshotOf } from "./templates";

/** The default largest instance data kept (JSON), which the request body limits are made for. */
export const MAX_DATA_BYTES = DEFAULT_WORKFLOW_QUOTAS.instance_data_bytes;

export function checkDataSize(env: Env, data: Record<string, unknown>, path = "data"): void {
  const max = workflowQuotas(env).instance_data_bytes;
  if (jsonBytes(data) > max) {
    throw new ApiError(422, `An instance's data may hold at most ${max} bytes of JSON.`, {
      errors: [{ path, message: "Too large" }],
      extensions: { quota: "instance_data_bytes", limit: max },
    });
  }
}

/**
 * The subject must be a record the caller can read: its service's own read (getMany over the
 * service binding, scoped to the caller's organization) must return it.
 */
export async function checkSubject(env: Env, identity: IdentityContext, subject: Subject): Promise<void> {
  const entry = serviceRegistry(env).find((e) => e.name === subject.service);
  if (!entry) throw new ApiError(422, `No service named ${subject.service}.`, { errors: [{ path: "subject.service", message: "Unknown service" }] });
  if (!identity.permissions[subject.service]?.includes("read")) {
    throw new ApiError(403, `Your roles do not allow read on the ${subject.service} service, so its records cannot be a subject of yours.`);
  }
  const stub = serviceBinding(env, entry);
  if (!stub) throw new ApiError(502, `The ${subject.service} service is not bound to the gateway.`);
  const found = await withDeadline(entry.name, entry.timeout_ms, () => stub.getMany(subject.model, [subject.id], identity));
  if (!found.ok) {
    if (found.error.status === 404) {
      throw new ApiError(422, `The ${subject.service} service has no model ${subject.model}.`, {
        errors: [{ path: "subject.model", message: "Unknown model" }],
      });
    }
    throw new ApiError(502, `The ${subject.service} service could not read the subject.`);
  }
  if (!found.data.some((r) => r.id === subject.id)) {
    throw new ApiError(422, `No ${subject.model} record ${subject.id} in the ${subject.service} service.`, {
      errors: [{ path: "subject.id", message: "Does not exist" }],
    });
  }
}

/** A child's id, the same on every attempt of the parent's transition, so a retry finds the child it already started. */
export async function childId(parentId: string, version: number, transition: string, index: number): Promise<string> {
  const hex = toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`child:${parentId}:${version}:${transition}:${index}`)));
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface StartRequest {
  organization_id: string;
  template: Template;
  subject: Subject | null;
  data: Record<string, unknown>;
  created_by: Actor;
  request_id: string;
  parent_id: string | null;
  /** Given for children (see childId); a fresh random UUID otherwise. */
  id?: string;
}

/**
 * Writes the index row (only while the template version exists), then starts the instance's
 * Durable Object. If the object cannot start, the row goes again, unless it is a child: the
 * parent's retry will start it with the same id.
 */
export async function startInstance(env: Env, req: StartRequest, viewer: Viewer | null): Promise<InstanceView> {
  const id = req.id ?? newId();
  const now = nowIso();
  const initial = req.template.states.find((s) => s.key === req.template.initial_state)!;
  const quotas = workflowQuotas(env);
  const written = await insertIndexRow(
    env.DB,
    {
      id,
      organization_id: req.organization_id,
      template_id: req.template.id,
      template_version: req.template.version,
      state: initial.key,
      terminal: initial.terminal,
      version: 1,
      subject_service: req.subject?.service ?? null,
      subject_model: req.subject?.model ?? null,
      subject_id: req.subject?.id ?? null,
      parent_id: req.parent_id,
      init: { data: req.data, created_by: req.created_by },
      created_at: now,
      updated_at: now,
    },
    quotas.running_instances,
  );
  if (written === "template") throw new ApiError(409, "The template was deleted while the instance was being started.");
  if (written === "quota") {
    throw quotaExceeded(
      "running_instances",
      quotas.running_instances,
      `An organization may have at most ${quotas.running_instances} workflow instances that have not ended (children included). Finish some first.`,
    );
  }
  try {
    const view = unwrap<InstanceView>(
      await instanceStub(env, req.organization_id, id).init(
        {
          id,
          organization_id: req.organization_id,
          template: snapshotOf(req.template),
          subject: req.subject,
          data: req.data,
          parent_id: req.parent_id,
          created_by: req.created_by,
          created_at: now,
          request_id: req.request_id,
        },
        viewer,
      ),
    );
    // Best effort: a row that keeps its data is only larger, never wrong.
    await forgetInitialData(env.DB, req.organization_id, id).catch(() => undefined);
    return view;
  } catch (err) {
    if (!req.parent_id) await deleteIndexRow(env.DB, req.organization_id, id).catch(() => undefined);
    throw err;
  }
}
