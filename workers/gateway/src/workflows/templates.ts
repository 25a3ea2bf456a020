import { and, asc, desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import {
  ApiError,
  decodeCursor,
  quotaExceeded as sharedQuotaExceeded,
  newId,
  nowIso,
  paginate,
  type EventActor,
  type FieldError,
  type IdentityContext,
  afterCursor,
} from "@buildly/shared";
import { outboxInsert, outboxStatement } from "../events/emit";
import { templateEvent } from "../events/workflow-events";
import { withDeadline } from "../upstream/deadline";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import { definitionOf, graphProblems, type TemplateSnapshot } from "./definition";
import { workflowTemplates, workflowTemplateVersions, type TemplateVersionRow } from "./db/schema";
import { runningCount } from "./instance-index";
import { jsonBytes, quotaExceeded, type WorkflowQuotas } from "./quotas";
import type { Template, TemplateInput } from "./schemas";

const db = (d1: D1Database) => drizzle(d1);

export const templateNotFound = () => new ApiError(404, "No workflow template of this organization has this id.");

function toTemplate(r: TemplateVersionRow): Template {
  return {
    id: r.template_id,
    version: r.version,
    name: r.name,
    description: r.description,
    initial_state: r.definition.initial_state,
    states: r.definition.states,
    transitions: r.definition.transitions,
    created_by: r.created_by,
    created_at: r.created_at,
  };
}

export function snapshotOf(t: Template): TemplateSnapshot {
  return { id: t.id, version: t.version, name: t.name, initial_state: t.initial_state, states: t.states, transitions: t.transitions };
}

/**
 * The whole check of a template before it is stored: the graph (definition.ts), then what its
 * actions name: a service behind the gateway, a model that service serves (asked with an empty
 * getMany, which every service answers 404 for a model it does not have), a template of this
 * organization for start_workflow. All problems at once, as one 422.
 */
export async function checkTemplate(env: Env, identity: IdentityContext, input: TemplateInput, self?: string): Promise<void> {
  const problems: FieldError[] = graphProblems(definitionOf(input));
  const registry = serviceRegistry(env);
  const modelChecks = new Map<string, Promise<boolean>>();
  const modelKnown = (service: string, model: string) => {
    const key = `${service}/${model}`;
    let check = modelChecks.get(key);
    if (!check) {
      const entry = registry.find((e) => e.name === service)!;
      const stub = serviceBinding(env, entry);
      if (!stub) throw new ApiError(502, `The ${service} service is not bound to the gateway.`);
      check = withDeadline(service, Math.min(entry.timeout_ms, 5000), () => stub.getMany(model, [], identity)).then((r) => {
        if (r.ok) return true;
        if (r.error.status === 404) return false;
        throw new ApiError(502, `The ${service} service could not say whether it has a model ${model}.`);
      });
      modelChecks.set(key, check);
    }
    return check;
  };

  const pending: Promise<void>[] = [];
  input.transitions.forEach((t, i) => {
    (t.actions ?? []).forEach((a, j) => {
      const path = `transitions.${i}.actions.${j}`;
      if (a.type === "start_workflow") {
        if (a.template_id === self) return;
        pending.push(
          templateExists(env.DB, identity.organization_id, a.template_id).then((ok) => {
            if (!ok) problems.push({ path: `${path}.template_id`, message: `No workflow template ${a.template_id} in this organization` });
          }),
        );
        return;
      }
      if (!registry.some((e) => e.name === a.service)) {
        problems.push({ path: `${path}.service`, message: `Unknown service ${a.service}` });
        return;
      }
      if (a.type === "update" && !a.id) problems.push({ path: `${path}.id`, message: "An update names the record to update" });
      if (a.type === "create" && a.id) problems.push({ path: `${path}.id`, message: "A create takes no id" });
      pending.push(
        modelKnown(a.service, a.model).then((ok) => {
          if (!ok) problems.push({ path: `${path}.model`, message: `The ${a.service} service has no model ${a.model}` });
        }),
      );
    });
  });
  await Promise.all(pending);
  if (problems.length) {
    problems.sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }));
    throw new ApiError(422, `The template is not valid: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}.`, { errors: problems });
  }
}

async function templateExists(d1: D1Database, organizationId: string, id: string): Promise<boolean> {
  const row = await db(d1)
    .select({ id: workflowTemplates.id })
    .from(workflowTemplates)
    .where(and(eq(workflowTemplates.id, id), eq(workflowTemplates.organization_id, organizationId)))
    .get();
  return row !== undefined;
}

/** The bytes a version takes as stored: its name, description and graph (JSON), as SQL's TOTAL_BYTES counts them. */
function versionBytes(input: TemplateInput): number {
  const utf8 = (x: string | undefined) => (x ? new TextEncoder().encode(x).byteLength : 0);
  return jsonBytes(definitionOf(input)) + utf8(input.name) + utf8(input.description);
}

/** Every version of every template of organization ?org, in bytes (the organization's templates by their index, then each one's versions by key). */
const TOTAL_BYTES = (
  org: string,
) => `(SELECT coalesce(sum(length(CAST(v.definition AS BLOB)) + length(CAST(v.name AS BLOB)) + coalesce(length(CAST(v.description AS BLOB)), 0)), 0)
  FROM workflow_templates AS t JOIN workflow_template_versions AS v ON v.template_id = t.id WHERE t.organization_id = ${org})`;

/** 413 for a version larger than the quota allows on its own. */
export function checkTemplateSize(quotas: WorkflowQuotas, input: TemplateInput): void {
  const bytes = versionBytes(input);
  if (bytes > quotas.template_bytes) {
    throw sharedQuotaExceeded(
      "template_bytes",
      quotas.template_bytes,
      `A template version may take at most ${quotas.template_bytes} bytes (name, description and graph as JSON); this one takes ${bytes}.`,
      413,
    );
  }
}

/** Why a template write within the quotas was refused: which quota is full now. */
async function fullQuota(d1: D1Database, quotas: WorkflowQuotas, organizationId: string, bytes: number, templateId?: string): Promise<ApiError> {
  const row = await d1
    .prepare(
      `SELECT (SELECT count(*) FROM workflow_templates WHERE organization_id = ?1) AS templates, ${TOTAL_BYTES("?1")} AS total,
         (SELECT latest_version FROM workflow_templates WHERE id = ?2 AND organization_id = ?1) AS versions`,
    )
    .bind(organizationId, templateId ?? "")
    .first<{ templates: number; total: number; versions: number | null }>();
  if (templateId && (row?.versions ?? 0) >= quotas.versions_per_template) {
    return quotaExceeded(
      "versions_per_template",
      quotas.versions_per_template,
      `A template may have at most ${quotas.versions_per_template} versions. Create a new template, or delete this one once no instance runs it.`,
    );
  }
  if (!templateId && (row?.templates ?? 0) >= quotas.templates) {
    return quotaExceeded("templates", quotas.templates, `An organization may have at most ${quotas.templates} workflow templates. Delete some first.`);
  }
  return quotaExceeded(
    "template_bytes_total",
    quotas.template_bytes_total,
    `The organization's templates, every version counted, may take at most ${quotas.template_bytes_total} bytes; they take ${row?.total ?? 0} and this version ${bytes} more. Delete some templates first.`,
  );
}

/**
 * A new template, only while the organization's template count and bytes stay within the
 * quotas: the condition is part of the INSERT, so concurrent creates cannot pass a quota together.
 */
export async function createTemplate(
  d1: D1Database,
  quotas: WorkflowQuotas,
  organizationId: string,
  input: TemplateInput,
  createdBy: string | null,
  actor: EventActor,
): Promise<Template> {
  const now = nowIso();
  const id = newId();
  const version: TemplateVersionRow = {
    template_id: id,
    version: 1,
    organization_id: organizationId,
    name: input.name,
    description: input.description ?? null,
    definition: definitionOf(input),
    created_by: createdBy,
    created_at: now,
  };
  const bytes = versionBytes(input);
  const [inserted] = await d1.batch([
    d1
      .prepare(
        `INSERT INTO workflow_templates (id, organization_id, latest_version, created_at, updated_at)
         SELECT ?1, ?2, 1, ?3, ?3
         WHERE (SELECT count(*) FROM workflow_templates WHERE organization_id = ?2) < ?4 AND ${TOTAL_BYTES("?2")} + ?5 <= ?6`,
      )
      .bind(id, organizationId, now, quotas.templates, bytes, quotas.template_bytes_total),
    d1
      .prepare(
        `INSERT INTO workflow_template_versions (template_id, version, organization_id, name, description, definition, created_by, created_at)
         SELECT ?1, 1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM workflow_templates WHERE id = ?1)`,
      )
      .bind(id, organizationId, version.name, version.description, JSON.stringify(version.definition), createdBy, now),
    // Only when the version row went in (the quotas held).
    outboxStatement(d1, templateEvent(actor, "workflows.template.created", organizationId, id, input, 1), { onlyIfChanged: true }),
  ]);
  if (!inserted?.meta.changes) throw await fullQuota(d1, quotas, organizationId, bytes);
  return toTemplate(version);
}

/**
 * A new version numbered in the same transaction that bumps latest_version, so concurrent changes
 * get distinct numbers; the bump happens only while the template's versions and the
 * organization's bytes stay within the quotas, and the version row only with a bump.
 */
export async function addVersion(
  d1: D1Database,
  quotas: WorkflowQuotas,
  organizationId: string,
  id: string,
  input: TemplateInput,
  createdBy: string | null,
  actor: EventActor,
): Promise<Template> {
  const now = nowIso();
  const bytes = versionBytes(input);
  const [bumped] = await d1.batch<{ version: number }>([
    d1
      .prepare(
        `UPDATE workflow_templates SET latest_version = latest_version + 1, updated_at = ?1
         WHERE id = ?2 AND organization_id = ?3 AND latest_version < ?4 AND ${TOTAL_BYTES("?3")} + ?5 <= ?6
         RETURNING latest_version AS version`,
      )
      .bind(now, id, organizationId, quotas.versions_per_template, bytes, quotas.template_bytes_total),
    d1
      .prepare(
        `INSERT INTO workflow_template_versions (template_id, version, organization_id, name, description, definition, created_by, created_at)
         SELECT id, latest_version, organization_id, ?1, ?2, ?3, ?4, ?5 FROM workflow_templates AS t WHERE id = ?6 AND organization_id = ?7
           AND NOT EXISTS (SELECT 1 FROM workflow_template_versions AS v WHERE v.template_id = t.id AND v.version = t.latest_version)`,
      )
      .bind(input.name, input.description ?? null, JSON.stringify(definitionOf(input)), createdBy, now, id, organizationId),
    // Its version is the one this batch numbered.
    outboxStatement(d1, templateEvent(actor, "workflows.template.updated", organizationId, id, input, null), {
      onlyIfChanged: true,
      dataSet: { path: "$.version", select: "SELECT latest_version FROM workflow_templates WHERE id = ?11", params: [id] },
    }),
  ]);
  const version = bumped?.results[0]?.version;
  if (version === undefined) {
    if (!(await templateExists(d1, organizationId, id))) throw templateNotFound();
    throw await fullQuota(d1, quotas, organizationId, bytes, id);
  }
  return (await getTemplate(d1, organizationId, id, version))!;
}

export async function getTemplate(d1: D1Database, organizationId: string, id: string, version?: number): Promise<Template | undefined> {
  const mine = and(eq(workflowTemplateVersions.template_id, id), eq(workflowTemplateVersions.organization_id, organizationId));
  const row = await db(d1)
    .select()
    .from(workflowTemplateVersions)
    .where(version === undefined ? mine : and(mine, eq(workflowTemplateVersions.version, version)))
    .orderBy(desc(workflowTemplateVersions.version))
    .limit(1)
    .get();
  return row ? toTemplate(row) : undefined;
}

/** The organization's templates, each at its latest version, oldest template first. */
export async function listTemplates(d1: D1Database, organizationId: string, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor);
  const rows = await db(d1)
    .select({ created_at: workflowTemplates.created_at, version: workflowTemplateVersions })
    .from(workflowTemplates)
    .innerJoin(
      workflowTemplateVersions,
      and(eq(workflowTemplateVersions.template_id, workflowTemplates.id), eq(workflowTemplateVersions.version, workflowTemplates.latest_version)),
    )
    .where(and(eq(workflowTemplates.organization_id, organizationId), afterCursor(workflowTemplates.created_at, workflowTemplates.id, after)))
    .orderBy(asc(workflowTemplates.created_at), asc(workflowTemplates.id))
    .limit(limit + 1);
  const page = paginate(
    rows.map((r) => ({ id: r.version.template_id, created_at: r.created_at, template: toTemplate(r.version) })),
    limit,
    (r) => r.created_at,
  );
  return { data: page.data.map((r) => r.template), next_cursor: page.next_cursor };
}

/**
 * Deletes a template with every version, only if no running instance uses it; the condition is
 * part of the DELETE, so an instance started at the same moment cannot slip in between (an
 * instance's index row is written only if its template still exists).
 */
export async function deleteTemplate(d1: D1Database, organizationId: string, id: string, actor: EventActor): Promise<void> {
  const d = db(d1);
  const [deleted] = await d.batch([
    d
      .delete(workflowTemplates)
      .where(
        and(
          eq(workflowTemplates.id, id),
          eq(workflowTemplates.organization_id, organizationId),
          sql`NOT EXISTS (SELECT 1 FROM workflow_instances AS i WHERE i.template_id = ${id} AND i.terminal = 0)`,
        ),
      )
      .returning({ id: workflowTemplates.id }),
    outboxInsert(d, templateEvent(actor, "workflows.template.deleted", organizationId, id, null, null), { onlyIfChanged: true }),
  ]);
  if (deleted.length) return;
  if (!(await templateExists(d1, organizationId, id))) throw templateNotFound();
  throw new ApiError(409, `${await runningCount(d1, id)} running instance(s) use this template. Delete it once they have finished.`);
}
