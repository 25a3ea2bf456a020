import type { MiddlewareHandler } from "hono";
import { v5 as uuidv5 } from "uuid";
import { nowIso, type ServiceEnv } from "@buildly/shared";
import type { Stage } from "../db/schema";

/*
 * Every organization gets a default pipeline. Organizations are created at the gateway, so the
 * CRM provisions it lazily, the first time an organization touches pipelines or deals. The id is
 * derived from the organization id (a UUID v5), and one D1 batch (a transaction) inserts the
 * pipeline only if the organization was never provisioned and then records it as provisioned:
 * concurrent first requests cannot create two, and a deleted default is not created again.
 */

/** The UUID v5 namespace of default pipeline ids. Never change it: ids in D1 derive from it. */
const DEFAULT_PIPELINE_NAMESPACE = "f39d247c-9c91-4485-9312-1a6eaeccccc6";

export const DEFAULT_PIPELINE_NAME = "Sales";
export const DEFAULT_STAGES: Stage[] = [
  { id: "lead", name: "Lead" },
  { id: "qualified", name: "Qualified" },
  { id: "proposal", name: "Proposal" },
  { id: "negotiation", name: "Negotiation" },
  { id: "won", name: "Won" },
  { id: "lost", name: "Lost" },
];

/** The organization's default pipeline id: RFC 9562 UUID v5 (SHA-1, name-based) of its id, by the uuid package. */
export function defaultPipelineId(organizationId: string): string {
  return uuidv5(organizationId, DEFAULT_PIPELINE_NAMESPACE);
}

export async function ensureDefaultPipeline(d1: D1Database, organizationId: string): Promise<void> {
  const done = await d1.prepare("SELECT 1 FROM provisioned_organizations WHERE organization_id = ?").bind(organizationId).first();
  if (!done) await provisionDefaultPipeline(d1, organizationId);
}

/** The write half, safe to run any number of times, concurrently or after the default was deleted. */
export async function provisionDefaultPipeline(d1: D1Database, organizationId: string): Promise<void> {
  const id = await defaultPipelineId(organizationId);
  const now = nowIso();
  await d1.batch([
    d1
      .prepare(
        `INSERT OR IGNORE INTO pipelines (id, organization_id, name, stages, is_default, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, 1, ?5, ?5
         WHERE NOT EXISTS (SELECT 1 FROM provisioned_organizations WHERE organization_id = ?2)`,
      )
      .bind(id, organizationId, DEFAULT_PIPELINE_NAME, JSON.stringify(DEFAULT_STAGES), now),
    d1
      .prepare("INSERT OR IGNORE INTO provisioned_organizations (organization_id, default_pipeline_id, provisioned_at) VALUES (?1, ?2, ?3)")
      .bind(organizationId, id, now),
  ]);
}

/** Route middleware for /pipelines and /deals. */
export const withDefaultPipeline: MiddlewareHandler<ServiceEnv<Env>> = async (c, next) => {
  await ensureDefaultPipeline(c.env.DB, c.get("identity").organization_id);
  await next();
};
