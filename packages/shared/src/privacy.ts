/*
 * Plumbing the services share to apply their erasure rules (issue 23, docs/privacy.md).
 * Erasure writes through the raw D1 (no event context), so no trigger writes an event carrying
 * the erased values; the gateway records the erasure as one audit entry without them.
 */

/** Removes the outbox rows about these records (their payloads hold the erased values). */
export function forgetOutbox(d1: D1Database, organizationId: string, subjects: string[]): D1PreparedStatement {
  return d1
    .prepare("DELETE FROM outbox WHERE organization_id = ?1 AND subject IN (SELECT value FROM json_each(?2))")
    .bind(organizationId, JSON.stringify(subjects));
}

/**
 * Merges an FTS5 index's segments so deleted rows' terms leave its shadow tables (a delete only
 * adds a marker until the next merge). Cost grows with the index; run once per erasure call.
 */
export function purgeFts(d1: D1Database, fts: string): D1PreparedStatement {
  if (!/^[a-z_]+$/.test(fts)) throw new Error(`purgeFts: bad table name ${fts}`);
  return d1.prepare(`INSERT INTO ${fts} (${fts}) VALUES ('optimize')`);
}

/** `?n` parameter JSON for `IN (SELECT value FROM json_each(?n))`. */
export const jsonList = (values: readonly string[]): string => JSON.stringify(values);
