import { nowIso } from "@buildly/shared";
import { isForeignKeyViolation } from "../db/client";
import { deleteObjects } from "./objects";

/**
 * Deleting a file is three steps that cannot share a transaction (D1 and R2 are separate
 * stores), ordered so that a failure at any point leaves nothing visible that is broken:
 *
 *   1. the row becomes a tombstone (status = 'deleting'): from now on every read, list and
 *      getMany treats it as gone, and no new version can be attached to it;
 *   2. every object it ever had (all versions) is deleted from R2;
 *   3. the row is deleted (its versions and tags go with it, ON DELETE CASCADE).
 *
 * If 2 or 3 fails, the tombstone stays: the file is already invisible, its objects are either
 * still all there or some are gone, and nothing points at a missing object from outside.
 * Repeating the DELETE (a tombstone answers it like a live file) or the scheduled sweep()
 * runs 2 and 3 again; deleting an R2 key that is already gone is not an error.
 */

/** Tombstones one file and finishes its deletion. False when no such file exists in `org`. */
export async function purgeFile(env: Env, org: string, id: string): Promise<boolean> {
  const marked = await env.DB.prepare("UPDATE files SET status = 'deleting', updated_at = ?3 WHERE organization_id = ?1 AND id = ?2 RETURNING id")
    .bind(org, id, nowIso())
    .first();
  if (!marked) return false;
  await finishPurge(env, org, [id]);
  return true;
}

/** Steps 2 and 3 for tombstoned files of one organization. */
export async function finishPurge(env: Env, org: string, fileIds: string[]): Promise<void> {
  if (fileIds.length === 0) return;
  const ids = JSON.stringify(fileIds);
  const { results } = await env.DB.prepare(
    `SELECT object_key FROM file_versions WHERE organization_id = ?1 AND file_id IN (SELECT value FROM json_each(?2))
     UNION SELECT object_key FROM files WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))`,
  )
    .bind(org, ids)
    .all<{ object_key: string }>();
  await deleteObjects(
    env.FILES,
    results.map((r) => r.object_key),
  );
  await env.DB.prepare("DELETE FROM files WHERE organization_id = ?1 AND status = 'deleting' AND id IN (SELECT value FROM json_each(?2))").bind(org, ids).run();
}

export type FolderDeletion = "deleted" | "missing" | "not-empty" | "changed";

const SUBTREE = `WITH RECURSIVE subtree(id) AS (
  SELECT id FROM folders WHERE organization_id = ?1 AND id = ?2
  UNION
  SELECT f.id FROM folders f JOIN subtree s ON f.parent_id = s.id WHERE f.organization_id = ?1
)`;

/**
 * Deletes a folder; with `recursive`, its whole subtree and every file in it, by the same
 * tombstone-first steps as purgeFile. The folder rows go last, in one statement: if a file or
 * folder was added inside meanwhile, the foreign keys refuse it ("changed"), the files already
 * purged stay tombstoned and a retry finishes the job.
 */
export async function deleteFolder(env: Env, org: string, id: string, recursive: boolean): Promise<FolderDeletion> {
  const { results: tree } = await env.DB.prepare(`${SUBTREE} SELECT id FROM subtree`).bind(org, id).all<{ id: string }>();
  if (tree.length === 0) return "missing";
  if (!recursive) {
    const inside = await env.DB.prepare(
      `SELECT EXISTS (SELECT 1 FROM folders WHERE organization_id = ?1 AND parent_id = ?2)
           OR EXISTS (SELECT 1 FROM files WHERE organization_id = ?1 AND folder_id = ?2 AND status = 'active') AS busy`,
    )
      .bind(org, id)
      .first<{ busy: number }>();
    if (inside?.busy) return "not-empty";
  }
  const folderIds = JSON.stringify(tree.map((r) => r.id));
  const { results: doomed } = await env.DB.prepare(
    `UPDATE files SET status = 'deleting', updated_at = ?3
     WHERE organization_id = ?1 AND folder_id IN (SELECT value FROM json_each(?2)) RETURNING id`,
  )
    .bind(org, folderIds, nowIso())
    .all<{ id: string }>();
  const fileIds = doomed.map((r) => r.id);
  const { results: keys } = await env.DB.prepare(
    `SELECT object_key FROM file_versions WHERE organization_id = ?1 AND file_id IN (SELECT value FROM json_each(?2))
     UNION SELECT object_key FROM files WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))`,
  )
    .bind(org, JSON.stringify(fileIds))
    .all<{ object_key: string }>();
  await deleteObjects(
    env.FILES,
    keys.map((r) => r.object_key),
  );
  try {
    await env.DB.batch([
      env.DB.prepare("DELETE FROM files WHERE organization_id = ?1 AND status = 'deleting' AND folder_id IN (SELECT value FROM json_each(?2))").bind(
        org,
        folderIds,
      ),
      env.DB.prepare("DELETE FROM folders WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))").bind(org, folderIds),
    ]);
  } catch (err) {
    if (isForeignKeyViolation(err)) return "changed";
    throw err;
  }
  return "deleted";
}

/** How long a tombstone or an upload journal entry may sit before sweep() takes it as abandoned. */
export const TOMBSTONE_GRACE_MS = 10 * 60 * 1000;
export const UPLOAD_GRACE_MS = 24 * 60 * 60 * 1000;
const SWEEP_BATCH = 100;

export interface SweepReport {
  files: number;
  uploads: number;
}

/**
 * The cleanup behind the cron trigger: finishes deletions that stopped half-way, and deletes
 * objects of uploads that never reached their row (the Worker died between R2 and D1).
 */
export async function sweep(env: Env, now: Date = new Date()): Promise<SweepReport> {
  const tombstoneCutoff = new Date(now.getTime() - TOMBSTONE_GRACE_MS).toISOString();
  const { results: tombstones } = await env.DB.prepare(
    "SELECT organization_id, id FROM files WHERE status = 'deleting' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2",
  )
    .bind(tombstoneCutoff, SWEEP_BATCH)
    .all<{ organization_id: string; id: string }>();
  const byOrg = new Map<string, string[]>();
  for (const t of tombstones) byOrg.set(t.organization_id, [...(byOrg.get(t.organization_id) ?? []), t.id]);
  for (const [org, ids] of byOrg) await finishPurge(env, org, ids);

  const uploadCutoff = new Date(now.getTime() - UPLOAD_GRACE_MS).toISOString();
  const { results: stale } = await env.DB.prepare("SELECT object_key FROM uploads WHERE started_at < ?1 ORDER BY started_at LIMIT ?2")
    .bind(uploadCutoff, SWEEP_BATCH)
    .all<{ object_key: string }>();
  const keys = stale.map((u) => u.object_key);
  if (keys.length) {
    await deleteObjects(env.FILES, keys);
    await env.DB.prepare("DELETE FROM uploads WHERE object_key IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(keys)).run();
  }
  return { files: tombstones.length, uploads: keys.length };
}
