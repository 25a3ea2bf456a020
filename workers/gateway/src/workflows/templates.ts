import { and, asc, desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ApiError, decodeCursor, newId, nowIso, paginate, type EventActor, type FieldError, type IdentityContext, afterCursor } from "@buildly/shared";
import { outboxInsert, outboxStatement } from "../events/emit";
import { templateEvent } from "../events/workflow-events";
import { withDeadline } from "../upstream/deadline";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import { definitionOf, graphProblems, type TemplateSnapshot } from "./definition";
import { workflowTemplates, workflowTemplateVersions, type TemplateVersionRow } from "./db/schema";
import { runningCount } from "./instance-index";
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

export async function createTemplate(
  d1: D1Database,
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
  const d = db(d1);
  await d.batch([
    d.insert(workflowTemplates).values({ id, organization_id: organizationId, latest_version: 1, created_at: now, updated_at: now }),
    d.insert(workflowTemplateVersions).values(version),
    outboxInsert(d, templateEvent(actor, "workflows.template.created", organizationId, id, input, 1)),
  ]);
  return toTemplate(version);
}

/** A new version numbered in the same transaction that bumps latest_version, so concurrent changes get distinct numbers. */
export async function addVersion(
  d1: D1Database,
  organizationId: string,
  id: string,
  input: TemplateInput,
  createdBy: string | null,
  actor: EventActor,
): Promise<Template> {
  const now = nowIso();
  const [bumped] = await d1.batch<{ version: number }>([
    d1
      .prepare(
        "UPDATE workflow_templates SET latest_version = latest_version + 1, updated_at = ?1 WHERE id = ?2 AND organization_id = ?3 RETURNING latest_version AS version",
      )
      .bind(now, id, organizationId),
    d1
      .prepare(
        `INSERT INTO workflow_template_versions (template_id, version, organization_id, name, description, definition, created_by, created_at)
         SELECT id, latest_version, organization_id, ?1, ?2, ?3, ?4, ?5 FROM workflow_templates WHERE id = ?6 AND organization_id = ?7`,
      )
      .bind(input.name, input.description ?? null, JSON.stringify(definitionOf(input)), createdBy, now, id, organizationId),
    // Its version is the one this batch numbered.
    outboxStatement(d1, templateEvent(actor, "workflows.template.updated", organizationId, id, input, null), {
      onlyIfChanged: true,
      dataSet: { path: "$.version", select: "SELECT latest_version FROM workflow_templates WHERE id = ?11", params: [id] },
    }),
  ]);
  const version = bumped?.results[0]?.version;
  if (version === undefined) throw templateNotFound();
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
