import { and, asc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { claimInBatch, decodeCursor, paginate, afterCursor, type PlatformEvent } from "@buildly/shared";
import { GATEWAY_SOURCE, outboxStatement } from "../events/emit";
import { workflowInstances, type InstanceIndexRow } from "./db/schema";
import type { InstanceSummary } from "./schemas";

/**
 * The index of instances in D1: lists and filters read it, each instance's Durable Object
 * writes it (after every transition, never going back to an older version), most often through
 * its organization's WorkflowIndexer (indexer.ts), which puts many objects' rows in one batch.
 */
const db = (d1: D1Database) => drizzle(d1);

/**
 * Writes the row of a new instance only while its template version still exists (see
 * deleteTemplate) and the organization has fewer than `maxRunning` instances not yet ended: both
 * conditions are part of the INSERT, so concurrent starts cannot pass the quota together.
 * "exists" when the row is there already (a retried child start), "template" or "quota" when refused.
 */
export async function insertIndexRow(d1: D1Database, row: InstanceIndexRow, maxRunning: number): Promise<"written" | "exists" | "template" | "quota"> {
  const result = await d1
    .prepare(
      `INSERT OR IGNORE INTO workflow_instances (id, organization_id, template_id, template_version, state, terminal, version,
         subject_service, subject_model, subject_id, parent_id, init, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
       WHERE EXISTS (SELECT 1 FROM workflow_template_versions WHERE template_id = ?3 AND version = ?4 AND organization_id = ?2)
         AND (SELECT count(*) FROM workflow_instances WHERE organization_id = ?2 AND terminal = 0) < ?15`,
    )
    .bind(
      row.id,
      row.organization_id,
      row.template_id,
      row.template_version,
      row.state,
      row.terminal ? 1 : 0,
      row.version,
      row.subject_service,
      row.subject_model,
      row.subject_id,
      row.parent_id,
      JSON.stringify(row.init),
      row.created_at,
      row.created_at,
      maxRunning,
    )
    .run();
  if (result.meta.changes > 0) return "written";
  // Already there (a retried child start uses the same id): fine, as long as it is ours.
  if (await readIndexRow(d1, row.organization_id, row.id)) return "exists";
  const template = await d1
    .prepare("SELECT 1 AS ok FROM workflow_template_versions WHERE template_id = ?1 AND version = ?2 AND organization_id = ?3")
    .bind(row.template_id, row.template_version, row.organization_id)
    .first();
  return template ? "quota" : "template";
}

/** Once the instance's object holds its data, the index keeps none of it: D1 is shared by every tenant. */
export async function forgetInitialData(d1: D1Database, organizationId: string, id: string): Promise<void> {
  await d1
    .prepare("UPDATE workflow_instances SET init = json_set(init, '$.data', json('{}')) WHERE id = ?1 AND organization_id = ?2")
    .bind(id, organizationId)
    .run();
}

export async function readIndexRow(d1: D1Database, organizationId: string, id: string): Promise<InstanceIndexRow | undefined> {
  return db(d1)
    .select()
    .from(workflowInstances)
    .where(and(eq(workflowInstances.id, id), eq(workflowInstances.organization_id, organizationId)))
    .get();
}

export async function deleteIndexRow(d1: D1Database, organizationId: string, id: string): Promise<void> {
  await db(d1)
    .delete(workflowInstances)
    .where(and(eq(workflowInstances.id, id), eq(workflowInstances.organization_id, organizationId)));
}

/** One instance's place for the index, with the events of its transitions since the last write. */
export interface IndexUpdate {
  organization_id: string;
  id: string;
  state: string;
  terminal: boolean;
  version: number;
  updated_at: string;
  events: PlatformEvent[];
}

/**
 * The instances' current states, each written only over an older version (writes may arrive out
 * of order), with the events of their transitions since their last write in the same batch (ids
 * derived from instance and version, so a write that runs again adds none), and `tail` after them
 * (the outbox claim): its statements' results are returned.
 */
export async function updateIndexRows(d1: D1Database, updates: IndexUpdate[], tail: D1PreparedStatement[] = []): Promise<D1Result[]> {
  const statements: D1PreparedStatement[] = [];
  for (const u of updates) {
    statements.push(
      d1
        .prepare(
          "UPDATE workflow_instances SET state = ?1, terminal = ?2, version = ?3, updated_at = ?4 WHERE id = ?5 AND organization_id = ?6 AND version < ?3",
        )
        .bind(u.state, u.terminal ? 1 : 0, u.version, u.updated_at, u.id, u.organization_id),
      ...u.events.map((e) => outboxStatement(d1, e, { orIgnore: true })),
    );
  }
  const results = await d1.batch([...statements, ...tail]);
  return results.slice(statements.length);
}

/**
 * Writes the updates in one batch; when they carry events, the batch also claims them for the
 * shared relay window (no relay of its own per write), which starts after it.
 */
export async function writeIndexUpdates(env: Env, updates: IndexUpdate[], waitUntil: (p: Promise<unknown>) => void): Promise<void> {
  const claim = updates.some((u) => u.events.length) ? claimInBatch(env, GATEWAY_SOURCE, waitUntil) : undefined;
  try {
    claim?.relay(await updateIndexRows(env.DB, updates, claim.statements));
  } catch (err) {
    claim?.failed();
    throw err;
  }
}

export function toSummary(r: InstanceIndexRow): InstanceSummary {
  return {
    id: r.id,
    template_id: r.template_id,
    template_version: r.template_version,
    state: r.state,
    terminal: r.terminal,
    version: r.version,
    subject: r.subject_service && r.subject_model && r.subject_id ? { service: r.subject_service, model: r.subject_model, id: r.subject_id } : null,
    parent_id: r.parent_id,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export interface InstanceFilter {
  template_id?: string;
  state?: string;
  subject_service?: string;
  subject_id?: string;
}

export async function listInstances(d1: D1Database, organizationId: string, filter: InstanceFilter, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor);
  const t = workflowInstances;
  const rows = await db(d1)
    .select()
    .from(t)
    .where(
      and(
        eq(t.organization_id, organizationId),
        filter.template_id ? eq(t.template_id, filter.template_id) : undefined,
        filter.state ? eq(t.state, filter.state) : undefined,
        filter.subject_service ? eq(t.subject_service, filter.subject_service) : undefined,
        filter.subject_id ? eq(t.subject_id, filter.subject_id) : undefined,
        afterCursor(t.created_at, t.id, after),
      ),
    )
    .orderBy(asc(t.created_at), asc(t.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return { data: page.data.map(toSummary), next_cursor: page.next_cursor };
}

/** How many instances of a template are still running (for messages). */
export async function runningCount(d1: D1Database, templateId: string): Promise<number> {
  const row = await db(d1)
    .select({ n: sql<number>`count(*)` })
    .from(workflowInstances)
    .where(and(eq(workflowInstances.template_id, templateId), eq(workflowInstances.terminal, false)))
    .get();
  return row?.n ?? 0;
}
