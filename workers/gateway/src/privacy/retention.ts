import type { OpenAPIHono, z } from "@hono/zod-openapi";
import { logError, nowIso } from "@buildly/shared";
import { sealLegacyChain, redactEntries } from "../events/redact";
import { pruneChainThrough } from "../events/retention";
import { actorOf, gatewayEvent, outboxStatement, relaySoon } from "../events";
import { currentPrincipal } from "../identity/authenticate";
import type { GatewayEnv } from "../types";
import { getRetentionPolicy, putRetentionPolicy } from "./retention.routes";
import { RETENTION_BOUNDS, type RetentionPolicySchema } from "./schemas";

/*
 * Retention per organization (docs/privacy.md): days kept for events (with their audit entries),
 * finished webhook deliveries, and audit payloads. The daily cron (identity/scheduled.ts) runs
 * enforceRetention: bounded per run (organizations per kind, rows per organization and kind), the
 * rest is picked up by the next run, since each run starts from whatever is still past retention.
 */

type Policy = z.infer<typeof RetentionPolicySchema>;

/** Organizations looked at per kind of data and run. */
export const RETENTION_ORGANIZATIONS_PER_RUN = 100;
/** Rows removed or redacted per organization, kind of data and run, unless RETENTION_ROWS_PER_RUN says otherwise. */
export const DEFAULT_RETENTION_ROWS_PER_RUN = 1_000;

function rowsPerRun(env: Env): number {
  const n = Number(Reflect.get(env, "RETENTION_ROWS_PER_RUN"));
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_RETENTION_ROWS_PER_RUN;
}

const FINISHED_DELIVERIES = "('delivered', 'dead_lettered', 'cancelled')";
/** The SQL cutoff of a policy column (days) before ?now, with the default when the organization has no policy. */
const cutoff = (column: keyof typeof RETENTION_BOUNDS) =>
  `strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-' || coalesce(p.${column}, ${RETENTION_BOUNDS[column].default}) || ' days')`;

const defaults = (): Policy => ({
  events_days: RETENTION_BOUNDS.events_days.default,
  webhook_deliveries_days: RETENTION_BOUNDS.webhook_deliveries_days.default,
  audit_payloads_days: RETENTION_BOUNDS.audit_payloads_days.default,
  default: true,
  updated_by: null,
  updated_at: null,
});

async function policyOf(d1: D1Database, org: string): Promise<Policy> {
  const row = await d1
    .prepare(
      "SELECT events_days, webhook_deliveries_days, audit_payloads_days, updated_by, updated_at FROM privacy_retention_policies WHERE organization_id = ?1",
    )
    .bind(org)
    .first<Omit<Policy, "default">>();
  return row ? { ...row, default: false } : defaults();
}

export function registerRetention(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(getRetentionPolicy, async (c) => c.json(await policyOf(c.env.DB, currentPrincipal(c).organization_id), 200))
    .openapi(putRetentionPolicy, async (c) => {
      const input = c.req.valid("json");
      const principal = currentPrincipal(c);
      await c.env.DB.batch([
        c.env.DB.prepare(
          `INSERT INTO privacy_retention_policies (organization_id, events_days, webhook_deliveries_days, audit_payloads_days, updated_by, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6)
           ON CONFLICT (organization_id) DO UPDATE SET events_days = excluded.events_days, webhook_deliveries_days = excluded.webhook_deliveries_days,
             audit_payloads_days = excluded.audit_payloads_days, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
        ).bind(principal.organization_id, input.events_days, input.webhook_deliveries_days, input.audit_payloads_days, principal.subject, nowIso()),
        outboxStatement(
          c.env.DB,
          gatewayEvent(actorOf(c), "privacy.retention_policy.changed", {
            subject: principal.organization_id,
            organizationid: principal.organization_id,
            data: { ...input },
          }),
        ),
      ]);
      relaySoon(c);
      return c.json(await policyOf(c.env.DB, principal.organization_id), 200);
    });
}

export interface RetentionReport {
  /** Audit entries removed with their events. */
  events_removed: number;
  webhook_deliveries_deleted: number;
  audit_payloads_redacted: number;
}

/**
 * One run of the retention job. Each kind of data is independent: a failure in one organization
 * is logged and the others go on. `now` (ms) is when the run counts from.
 */
export async function enforceRetention(env: Env, now = Date.now()): Promise<RetentionReport> {
  const d1 = env.DB;
  const rows = rowsPerRun(env);
  const at = new Date(now).toISOString();
  const report: RetentionReport = { events_removed: 0, webhook_deliveries_deleted: 0, audit_payloads_redacted: 0 };
  const each = async (label: string, org: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (err) {
      logError("retention", "gateway", err, { during: `retention: ${label}`, organization_id: org });
    }
  };

  // Events and their audit entries, from the start of the chain: the anchor moves, the kept chain verifies. The head stays.
  const events = await d1
    .prepare(
      `SELECT o.id AS org, coalesce(x.seq, 0) AS anchored, ${cutoff("events_days")} AS before
       FROM organizations o LEFT JOIN audit_anchors x ON x.organization_id = o.id LEFT JOIN privacy_retention_policies p ON p.organization_id = o.id
       WHERE (SELECT recorded_at FROM audit_entries a WHERE a.organization_id = o.id AND a.seq = coalesce(x.seq, 0) + 1) < ${cutoff("events_days")}
       LIMIT ?2`,
    )
    .bind(at, RETENTION_ORGANIZATIONS_PER_RUN)
    .all<{ org: string; anchored: number; before: string }>();
  for (const { org, anchored, before } of events.results) {
    await each("events", org, async () => {
      const window = anchored + rows;
      const bounds = await d1
        .prepare(
          `SELECT (SELECT min(seq) FROM audit_entries WHERE organization_id = ?1 AND seq > ?2 AND seq <= ?3 AND recorded_at >= ?4) AS recent,
                  (SELECT max(seq) FROM audit_entries WHERE organization_id = ?1) AS head`,
        )
        .bind(org, anchored, window, before)
        .first<{ recent: number | null; head: number }>();
      if (!bounds) return;
      const target = Math.min(bounds.recent === null ? window : bounds.recent - 1, bounds.head - 1);
      report.events_removed += await pruneChainThrough(d1, org, anchored, target);
    });
  }

  // Finished webhook deliveries (their attempts go with them, ON DELETE CASCADE); pending ones are still being sent.
  const deliveries = await d1
    .prepare(
      `SELECT o.id AS org, ${cutoff("webhook_deliveries_days")} AS before
       FROM organizations o LEFT JOIN privacy_retention_policies p ON p.organization_id = o.id
       WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.organization_id = o.id AND d.created_at < ${cutoff("webhook_deliveries_days")}
                       AND d.status IN ${FINISHED_DELIVERIES})
       LIMIT ?2`,
    )
    .bind(at, RETENTION_ORGANIZATIONS_PER_RUN)
    .all<{ org: string; before: string }>();
  for (const { org, before } of deliveries.results) {
    await each("webhook deliveries", org, async () => {
      const res = await d1
        .prepare(
          `DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries WHERE organization_id = ?1 AND created_at < ?2 AND status IN ${FINISHED_DELIVERIES} ORDER BY created_at LIMIT ?3)`,
        )
        .bind(org, before, rows)
        .run();
      report.webhook_deliveries_deleted += res.meta.changes ?? 0;
    });
  }

  // Audit payloads (and the same events' payloads): redacted, not deleted; the chain commits to their hashes.
  const payloads = await d1
    .prepare(
      `SELECT o.id AS org, ${cutoff("audit_payloads_days")} AS before
       FROM organizations o LEFT JOIN privacy_retention_policies p ON p.organization_id = o.id
       WHERE (SELECT recorded_at FROM audit_entries a WHERE a.organization_id = o.id AND a.redacted_at IS NULL ORDER BY a.seq LIMIT 1) < ${cutoff("audit_payloads_days")}
       LIMIT ?2`,
    )
    .bind(at, RETENTION_ORGANIZATIONS_PER_RUN)
    .all<{ org: string; before: string }>();
  for (const { org, before } of payloads.results) {
    await each("audit payloads", org, async () => {
      await sealLegacyChain(d1, org);
      const { results } = await d1
        .prepare(
          "SELECT seq, event_id FROM audit_entries WHERE organization_id = ?1 AND redacted_at IS NULL AND recorded_at < ?2 AND data_hash IS NOT NULL ORDER BY seq LIMIT ?3",
        )
        .bind(org, before, rows)
        .all<{ seq: number; event_id: string }>();
      await redactEntries(d1, org, results);
      report.audit_payloads_redacted += results.length;
    });
  }
  return report;
}
