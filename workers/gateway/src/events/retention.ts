import { nowIso } from "@buildly/shared";

/** How many events (and audit entries) an organization keeps, unless EVENTS_KEPT_PER_ORGANIZATION says otherwise. */
export const DEFAULT_EVENTS_KEPT = 100_000;
/** Bounded work per run: organizations looked at, entries removed per organization. */
const ORGANIZATIONS_PER_RUN = 50;
const REMOVED_PER_ORGANIZATION = 5_000;
/** Entries removed per D1 batch. */
const CHUNK = 500;

export function eventsKept(env: Env): number {
  const n = Number(Reflect.get(env, "EVENTS_KEPT_PER_ORGANIZATION"));
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_EVENTS_KEPT;
}

export interface PruneReport {
  organizations: number;
  removed: number;
}

/**
 * The per-organization cap on events kept: removes the oldest events and audit entries of each
 * organization beyond `keep`, from the start of its chain. Each chunk is one D1 batch that moves
 * the organization's anchor (the newest removed entry's seq and hash) and deletes the entries up
 * to it with their events, so the kept chain still verifies: its first entry links to the anchor.
 * Appends only ever add at the head (seq is monotonic), so pruning the tail never races them.
 * Bounded per run (the daily cron); a large backlog is worked off over several runs.
 */
export async function pruneEvents(d1: D1Database, keep: number): Promise<PruneReport> {
  const { results } = await d1
    .prepare(
      `SELECT id AS organization_id, head, anchored FROM (
         SELECT o.id,
                (SELECT max(seq) FROM audit_entries a WHERE a.organization_id = o.id) AS head,
                coalesce((SELECT seq FROM audit_anchors x WHERE x.organization_id = o.id), 0) AS anchored
         FROM organizations o
       ) WHERE head - anchored > ?1 LIMIT ?2`,
    )
    .bind(keep, ORGANIZATIONS_PER_RUN)
    .all<{ organization_id: string; head: number; anchored: number }>();
  let removed = 0;
  for (const org of results) {
    const target = Math.min(org.head - keep, org.anchored + REMOVED_PER_ORGANIZATION);
    removed += await pruneChainThrough(d1, org.organization_id, org.anchored, target);
  }
  return { organizations: results.length, removed };
}

/**
 * Removes an organization's audit entries (and their events) from `anchored` + 1 through
 * `target`, oldest first, moving its anchor chunk by chunk (see pruneEvents). Answers how many
 * entries went. The caller keeps `target` below the head: the chain goes on from the kept entries.
 */
export async function pruneChainThrough(d1: D1Database, organizationId: string, anchored: number, target: number): Promise<number> {
  let removed = 0;
  for (let from = anchored; from < target; ) {
    const upto = Math.min(target, from + CHUNK);
    const last = await d1
      .prepare("SELECT hash FROM audit_entries WHERE organization_id = ?1 AND seq = ?2")
      .bind(organizationId, upto)
      .first<{ hash: string }>();
    if (!last) break;
    await d1.batch([
      d1
        .prepare(
          `INSERT INTO audit_anchors (organization_id, seq, hash, pruned_at) VALUES (?1, ?2, ?3, ?4)
           ON CONFLICT (organization_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at
           WHERE excluded.seq > audit_anchors.seq`,
        )
        .bind(organizationId, upto, last.hash, nowIso()),
      d1.prepare("DELETE FROM events WHERE id IN (SELECT event_id FROM audit_entries WHERE organization_id = ?1 AND seq <= ?2)").bind(organizationId, upto),
      d1.prepare("DELETE FROM audit_entries WHERE organization_id = ?1 AND seq <= ?2").bind(organizationId, upto),
    ]);
    removed += upto - from;
    from = upto;
  }
  return removed;
}
