import { ApiError, decodeCursor, newId, nowIso, paginate, quotaExceeded, type EventActor } from "@buildly/shared";
import { gatewayEvent, outboxStatement } from "../events/emit";
import { newSigningSecret, sealSecret } from "./secrets";
import { MAX_SUBSCRIPTIONS_PER_ORGANIZATION, type Webhook, type WebhookInput, type WebhookPatch } from "./schemas";
import { targetPolicy, targetProblem } from "./target";

/** How long the previous secret still signs after a rotation, so receivers can switch over. */
export const ROTATION_OVERLAP_SECONDS = 24 * 3600;

/** A row of webhook_subscriptions (migrations/0005_webhooks.sql). */
export interface SubscriptionRow {
  id: string;
  organization_id: string;
  url: string;
  description: string | null;
  events: string;
  status: Webhook["status"];
  disabled_reason: string | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: string | null;
  consecutive_failures: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export const webhookNotFound = () => new ApiError(404, "No webhook of this organization has this id.");

export function toWebhook(r: SubscriptionRow): Webhook {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    events: JSON.parse(r.events) as string[],
    status: r.status,
    disabled_reason: r.disabled_reason,
    created_by: r.created_by,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** 422 naming `url` when the target is not allowed (see target.ts). */
export function checkUrl(env: Env, url: string): void {
  const problem = targetProblem(url, targetPolicy(env));
  if (problem) throw new ApiError(422, `The webhook URL is not allowed: ${problem}`, { errors: [{ path: "url", message: problem }] });
}

function patternRows(d1: D1Database, organizationId: string, id: string, patterns: string[]) {
  // Only next to a subscription that exists (the create's count check may have kept it out).
  return patterns.map((p) =>
    d1
      .prepare(
        "INSERT INTO webhook_patterns (organization_id, pattern, subscription_id) SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = ?3)",
      )
      .bind(organizationId, p, id),
  );
}

/** What a webhook's events carry: the subscription as the API shows it, never its secret. */
function eventData(w: Webhook): Record<string, unknown> {
  return { id: w.id, url: w.url, description: w.description, events: w.events, status: w.status };
}

export async function createWebhook(env: Env, organizationId: string, given: WebhookInput, createdBy: string | null, actor: EventActor) {
  checkUrl(env, given.url);
  const input = { ...given, events: [...new Set(given.events)] };
  const d1 = env.DB;
  const id = newId();
  const now = nowIso();
  const secret = newSigningSecret();
  const sealed = await sealSecret(env, secret);
  // The count check is part of the INSERT, so concurrent creates cannot pass the limit together.
  const [inserted] = await d1.batch([
    d1
      .prepare(
        `INSERT INTO webhook_subscriptions (id, organization_id, url, description, events, status, secret_sealed, created_by, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8
         WHERE (SELECT count(*) FROM webhook_subscriptions WHERE organization_id = ?2) < ?9`,
      )
      .bind(id, organizationId, input.url, input.description ?? null, JSON.stringify(input.events), sealed, createdBy, now, MAX_SUBSCRIPTIONS_PER_ORGANIZATION),
    outboxStatement(
      d1,
      gatewayEvent(actor, "webhooks.subscription.created", {
        subject: id,
        organizationid: organizationId,
        data: { id, url: input.url, description: input.description ?? null, events: input.events, status: "active" },
      }),
      { onlyIfChanged: true },
    ),
    ...patternRows(d1, organizationId, id, input.events),
  ]);
  if (!inserted?.meta.changes) {
    throw quotaExceeded(
      "webhooks",
      MAX_SUBSCRIPTIONS_PER_ORGANIZATION,
      `This organization has reached its quota of ${MAX_SUBSCRIPTIONS_PER_ORGANIZATION} webhooks. Delete one first.`,
    );
  }
  const row = (await getRow(d1, organizationId, id))!;
  return { ...toWebhook(row), secret };
}

export async function getRow(d1: D1Database, organizationId: string, id: string): Promise<SubscriptionRow | null> {
  return d1.prepare("SELECT * FROM webhook_subscriptions WHERE id = ?1 AND organization_id = ?2").bind(id, organizationId).first<SubscriptionRow>();
}

export async function listWebhooks(d1: D1Database, organizationId: string, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor);
  const { results } = await d1
    .prepare(
      `SELECT * FROM webhook_subscriptions WHERE organization_id = ?1
       AND (?2 IS NULL OR created_at > ?2 OR (created_at = ?2 AND id > ?3))
       ORDER BY created_at, id LIMIT ?4`,
    )
    .bind(organizationId, after?.k ?? null, after?.id ?? "", limit + 1)
    .all<SubscriptionRow>();
  const page = paginate(results, limit, (r) => r.created_at);
  return { data: page.data.map(toWebhook), next_cursor: page.next_cursor };
}

export async function updateWebhook(env: Env, organizationId: string, id: string, given: WebhookPatch, actor: EventActor) {
  const patch = { ...given, events: given.events && [...new Set(given.events)] };
  const d1 = env.DB;
  const row = await getRow(d1, organizationId, id);
  if (!row) throw webhookNotFound();
  if (patch.url !== undefined) checkUrl(env, patch.url);
  const now = nowIso();
  const statements: D1PreparedStatement[] = [];
  const sets: string[] = ["updated_at = ?1"];
  const values: unknown[] = [now];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = ?${values.length}`);
  };
  if (patch.url !== undefined) set("url", patch.url);
  if (patch.description !== undefined) set("description", patch.description);
  if (patch.events !== undefined) {
    set("events", JSON.stringify(patch.events));
    statements.push(d1.prepare("DELETE FROM webhook_patterns WHERE subscription_id = ?1").bind(id), ...patternRows(d1, organizationId, id, patch.events));
  }
  if (patch.status === "active") {
    // Resuming also lifts a disable: the failure count starts over.
    set("status", "active");
    set("disabled_reason", null);
    set("consecutive_failures", 0);
  } else if (patch.status === "paused") {
    set("status", "paused");
  }
  values.push(id, organizationId);
  const before = toWebhook(row);
  const after: Webhook = {
    ...before,
    ...(patch.url !== undefined && { url: patch.url }),
    ...(patch.description !== undefined && { description: patch.description }),
    ...(patch.events !== undefined && { events: patch.events }),
    ...(patch.status !== undefined && { status: patch.status }),
  };
  const changed = Object.keys(patch).filter((k) => patch[k as keyof WebhookPatch] !== undefined);
  statements.unshift(
    d1.prepare(`UPDATE webhook_subscriptions SET ${sets.join(", ")} WHERE id = ?${values.length - 1} AND organization_id = ?${values.length}`).bind(...values),
    outboxStatement(
      d1,
      gatewayEvent(actor, "webhooks.subscription.updated", { subject: id, organizationid: organizationId, data: { ...eventData(after), changed } }),
      { onlyIfChanged: true },
    ),
  );
  if (patch.status === "paused") statements.push(cancelPending(d1, id, now, "The webhook was paused."));
  await d1.batch(statements);
  return toWebhook((await getRow(d1, organizationId, id))!);
}

/** Deliveries still waiting for an attempt are cancelled (the queue consumer also skips them). */
export function cancelPending(d1: D1Database, subscriptionId: string, now: string, reason: string) {
  return d1
    .prepare(
      "UPDATE webhook_deliveries SET status = 'cancelled', last_error = ?3, next_retry_at = NULL, updated_at = ?2 WHERE subscription_id = ?1 AND status IN ('pending', 'retrying')",
    )
    .bind(subscriptionId, now, reason);
}

export async function deleteWebhook(d1: D1Database, organizationId: string, id: string, actor: EventActor) {
  const row = await getRow(d1, organizationId, id);
  if (!row) throw webhookNotFound();
  const [res] = await d1.batch([
    d1.prepare("DELETE FROM webhook_subscriptions WHERE id = ?1 AND organization_id = ?2").bind(id, organizationId),
    outboxStatement(
      d1,
      gatewayEvent(actor, "webhooks.subscription.deleted", { subject: id, organizationid: organizationId, data: eventData(toWebhook(row)) }),
      {
        onlyIfChanged: true,
      },
    ),
  ]);
  if (!res?.meta.changes) throw webhookNotFound();
}

/** A new secret; the previous one keeps signing (a second signature) for ROTATION_OVERLAP_SECONDS. */
export async function rotateSecret(env: Env, organizationId: string, id: string, actor: EventActor) {
  const d1 = env.DB;
  const secret = newSigningSecret();
  const sealed = await sealSecret(env, secret);
  const now = nowIso();
  const overlapEnds = new Date(Date.now() + ROTATION_OVERLAP_SECONDS * 1000).toISOString();
  const [res] = await d1.batch([
    d1
      .prepare(
        `UPDATE webhook_subscriptions SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = ?1, secret_sealed = ?2, updated_at = ?3
         WHERE id = ?4 AND organization_id = ?5`,
      )
      .bind(overlapEnds, sealed, now, id, organizationId),
    // Which webhook and until when the previous secret still signs; never a secret.
    outboxStatement(
      d1,
      gatewayEvent(actor, "webhooks.subscription.secret_rotated", {
        subject: id,
        organizationid: organizationId,
        data: { id, previous_secret_expires_at: overlapEnds },
      }),
      { onlyIfChanged: true },
    ),
  ]);
  if (!res?.meta.changes) throw webhookNotFound();
  return { ...toWebhook((await getRow(d1, organizationId, id))!), secret };
}
