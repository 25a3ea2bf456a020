import { type ApiError, quotaExceeded as sharedQuotaExceeded } from "@buildly/shared";

/**
 * What one organization may store in the gateway's D1 for the data mesh (that database holds
 * every tenant's identity data too, so no tenant may fill it). Counted atomically: each insert
 * is one statement whose WHERE counts the organization's rows, so concurrent creates never
 * overshoot (SQLite runs D1's statements one at a time).
 */
export const MESH_QUOTAS = {
  /** An organization's own relationships (the platform's defaults do not count); each is loaded on every joined read. */
  relationships: 200,
  /** Join records (links of join_records relationships), however they are made. */
  join_records: 10_000,
} as const;

export type MeshQuota = keyof typeof MESH_QUOTAS;

/** 422 quota-exceeded: the organization holds as many as it may. */
export function quotaExceeded(quota: MeshQuota, what: string, adding = 1): ApiError {
  const limit = MESH_QUOTAS[quota];
  return sharedQuotaExceeded(
    quota,
    limit,
    `An organization may hold at most ${limit} ${what}; ${adding > 1 ? `these ${adding} do` : "this one does"} not fit. Delete some first.`,
  );
}
