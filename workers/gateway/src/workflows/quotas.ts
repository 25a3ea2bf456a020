import { type ApiError, quotaExceeded as sharedQuotaExceeded } from "@buildly/shared";

/**
 * What one organization may keep of workflows. Templates and the instance index live in the
 * gateway's D1, which every tenant (and their identity data) shares, so each cap is counted in
 * the same SQL statement that writes (see templates.ts and instance-index.ts): concurrent
 * writes cannot pass a cap together.
 *
 * The defaults below hold unless the WORKFLOW_QUOTAS variable (JSON, any of these keys) says
 * otherwise, for the whole deployment.
 */
export interface WorkflowQuotas {
  /** Bytes of one template version as stored (name, description and graph as JSON): 413 beyond. */
  template_bytes: number;
  /** Bytes of every version of every template of the organization together: 422 beyond. */
  template_bytes_total: number;
  /** Templates of one organization: 422 beyond. */
  templates: number;
  /** Versions of one template, the first included (a change makes one): 422 beyond. */
  versions_per_template: number;
  /** Instances of one organization not yet in a terminal state, children included: 422 beyond. */
  running_instances: number;
  /** Bytes of an instance's data (JSON), after a transition's data is merged in: 422 beyond. */
  instance_data_bytes: number;
}

export const DEFAULT_WORKFLOW_QUOTAS: WorkflowQuotas = {
  template_bytes: 64 * 1024,
  template_bytes_total: 4 * 1024 * 1024,
  templates: 200,
  versions_per_template: 100,
  running_instances: 10_000,
  instance_data_bytes: 64 * 1024,
};

const parsed = new Map<string, WorkflowQuotas>();

export function workflowQuotas(env: Env): WorkflowQuotas {
  const raw = (env as unknown as { WORKFLOW_QUOTAS?: unknown }).WORKFLOW_QUOTAS;
  if (raw === undefined || raw === null || raw === "") return DEFAULT_WORKFLOW_QUOTAS;
  const text = typeof raw === "string" ? raw : JSON.stringify(raw);
  let q = parsed.get(text);
  if (!q) {
    const given = JSON.parse(text) as Partial<Record<keyof WorkflowQuotas, unknown>>;
    q = { ...DEFAULT_WORKFLOW_QUOTAS };
    for (const k of Object.keys(DEFAULT_WORKFLOW_QUOTAS) as (keyof WorkflowQuotas)[]) {
      const v = given[k];
      if (typeof v === "number" && Number.isInteger(v) && v > 0) q[k] = v;
    }
    parsed.set(text, q);
  }
  return q;
}

/** A count quota of the organization is full: 422 quota-exceeded, with the quota's name and limit, and what frees room. */
export function quotaExceeded(quota: keyof WorkflowQuotas, limit: number, detail: string): ApiError {
  return sharedQuotaExceeded(quota, limit, detail);
}

/** The size of a JSON value as stored, in bytes. */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).byteLength;
}
