import { sql, type SQL } from "drizzle-orm";
import { ApiError, type FieldError } from "@buildly/shared";
import type { Db } from "../db/client";
import { companies, contacts, deals, pipelines } from "../db/schema";

/*
 * References between CRM records are checked within the caller's organization: a reference to
 * a record of another organization is "does not exist", exactly like a missing one. The writes
 * carry the check in their WHERE (and composite foreign keys back it up), so it holds at the
 * moment of the write; when a write is refused, `referenceErrors` says which field was wrong.
 */

export interface References {
  company_id?: string | null;
  contact_id?: string | null;
  deal_id?: string | null;
  pipeline_id?: string | null;
  /** The stage must be one of this pipeline's stages. */
  stage?: { pipeline_id: string; stage: string };
}

const TARGETS = {
  company_id: { table: companies, noun: "company" },
  contact_id: { table: contacts, noun: "contact" },
  deal_id: { table: deals, noun: "deal" },
  pipeline_id: { table: pipelines, noun: "pipeline" },
} as const;

type RefField = keyof typeof TARGETS;

export function recordExists(field: RefField, organizationId: string, id: string): SQL {
  const { table } = TARGETS[field];
  return sql`EXISTS (SELECT 1 FROM ${table} WHERE ${table.organization_id} = ${organizationId} AND ${table.id} = ${id})`;
}

export function stageExists(organizationId: string, pipelineId: string | SQL, stage: string | SQL): SQL {
  return sql`EXISTS (SELECT 1 FROM ${pipelines} AS p, json_each(p.stages) AS s
    WHERE p.organization_id = ${organizationId} AND p.id = ${pipelineId} AND json_extract(s.value, '$.id') = ${stage})`;
}

/** One condition that holds when every given (non-null) reference exists in the organization. */
export function referencesExist(organizationId: string, refs: References): SQL {
  const parts: SQL[] = [];
  for (const field of Object.keys(TARGETS) as RefField[]) {
    const id = refs[field];
    if (typeof id === "string") parts.push(recordExists(field, organizationId, id));
  }
  if (refs.stage) parts.push(stageExists(organizationId, refs.stage.pipeline_id, refs.stage.stage));
  return parts.length ? sql.join(parts, sql` AND `) : sql`1`;
}

/** Which of the given references do not exist in the organization, in one query. */
export async function referenceErrors(database: Db, organizationId: string, refs: References): Promise<FieldError[]> {
  const checks: { path: string; message: string; test: SQL }[] = [];
  for (const field of Object.keys(TARGETS) as RefField[]) {
    const id = refs[field];
    if (typeof id === "string") {
      checks.push({
        path: field,
        message: `No ${TARGETS[field].noun} with this id exists in this organization`,
        test: recordExists(field, organizationId, id),
      });
    }
  }
  if (refs.stage) {
    const { pipeline_id, stage } = refs.stage;
    // A stage of a missing pipeline is reported on the pipeline only.
    checks.push({
      path: "stage",
      message: `Not a stage of pipeline ${pipeline_id}`,
      test: sql`(NOT ${recordExists("pipeline_id", organizationId, pipeline_id)} OR ${stageExists(organizationId, pipeline_id, stage)})`,
    });
  }
  if (!checks.length) return [];
  const row = await database.get<Record<string, number>>(
    sql`SELECT ${sql.join(
      checks.map((c, i) => sql`${c.test} AS ${sql.identifier(`r${i}`)}`),
      sql`, `,
    )}`,
  );
  return checks.filter((_, i) => !row?.[`r${i}`]).map(({ path, message }) => ({ path, message }));
}

export function referenceError(errors: FieldError[]): ApiError {
  return new ApiError(422, "A referenced record does not exist in this organization.", { errors });
}

/**
 * After a write was refused: throw the 422 that names the bad references, or, if they all exist
 * now (they changed while we wrote), a 409 asking to retry.
 */
export async function throwReferenceError(database: Db, organizationId: string, refs: References): Promise<never> {
  const errors = await referenceErrors(database, organizationId, refs);
  if (errors.length) throw referenceError(errors);
  throw new ApiError(409, "A referenced record changed while this request was written; try again.");
}
