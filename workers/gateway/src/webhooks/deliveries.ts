import { ApiError, decodeCursor, nowIso, paginate } from "@buildly/shared";
import type { Delivery, DeliveryMessage } from "./schemas";
import { getRow, webhookNotFound } from "./store";

/** Attempts shown per delivery (the newest). */
export const ATTEMPTS_SHOWN = 20;

interface DeliveryListRow {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  status: Delivery["status"];
  attempt_count: number;
  next_retry_at: string | null;
  last_response_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: string;
  duration_ms: number;
  response_status: number | null;
  succeeded: number;
  error: string | null;
  next_retry_at: string | null;
}

const COLUMNS =
  "id, subscription_id, event_id, event_type, status, attempt_count, next_retry_at, last_response_status, last_error, delivered_at, created_at, updated_at";

async function withAttempts(d1: D1Database, rows: DeliveryListRow[]): Promise<Delivery[]> {
  if (!rows.length) return [];
  const { results } = await d1
    .prepare(
      `SELECT * FROM (
         SELECT delivery_id, attempt, started_at, duration_ms, response_status, succeeded, error, next_retry_at,
                row_number() OVER (PARTITION BY delivery_id ORDER BY started_at DESC, attempt DESC) AS n
         FROM webhook_delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?1))
       ) WHERE n <= ?2 ORDER BY started_at, attempt`,
    )
    .bind(JSON.stringify(rows.map((r) => r.id)), ATTEMPTS_SHOWN)
    .all<AttemptRow>();
  return rows.map(({ subscription_id, ...r }) => ({
    ...r,
    webhook_id: subscription_id,
    attempts: results
      .filter((a) => a.delivery_id === r.id)
      .map((a) => ({
        attempt: a.attempt,
        started_at: a.started_at,
        duration_ms: a.duration_ms,
        response_status: a.response_status,
        succeeded: a.succeeded === 1,
        error: a.error,
        next_retry_at: a.next_retry_at,
      })),
  }));
}

/** A webhook's deliveries, newest first. */
export async function listDeliveries(
  d1: D1Database,
  organizationId: string,
  webhookId: string,
  query: { limit: number; cursor?: string; status?: Delivery["status"] },
) {
  if (!(await getRow(d1, organizationId, webhookId))) throw webhookNotFound();
  const before = decodeCursor(query.cursor);
  const { results } = await d1
    .prepare(
      `SELECT ${COLUMNS} FROM webhook_deliveries WHERE subscription_id = ?1 AND organization_id = ?2
       AND (?3 IS NULL OR status = ?3)
       AND (?4 IS NULL OR created_at < ?4 OR (created_at = ?4 AND id < ?5))
       ORDER BY created_at DESC, id DESC LIMIT ?6`,
    )
    .bind(webhookId, organizationId, query.status ?? null, before?.k ?? null, before?.id ?? "", query.limit + 1)
    .all<DeliveryListRow>();
  const page = paginate(results, query.limit, (r) => r.created_at);
  return { data: await withAttempts(d1, page.data), next_cursor: page.next_cursor };
}

export async function getDelivery(d1: D1Database, organizationId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
  const row = await d1
    .prepare(`SELECT ${COLUMNS} FROM webhook_deliveries WHERE id = ?1 AND subscription_id = ?2 AND organization_id = ?3`)
    .bind(deliveryId, webhookId, organizationId)
    .first<DeliveryListRow>();
  return row ? (await withAttempts(d1, [row]))[0] : undefined;
}

/**
 * Sends one delivery again: a fresh round of attempts with the same webhook-id. One round at a
 * time: the conditional UPDATE starts the next round only while none is under way (pending or
 * retrying), so of concurrent redeliveries exactly one starts it and the others answer 409; the
 * message names its round, so a leftover message of an earlier round sends nothing.
 */
export async function redeliver(env: Env, organizationId: string, webhookId: string, deliveryId: string): Promise<Delivery> {
  const subscription = await getRow(env.DB, organizationId, webhookId);
  if (!subscription) throw webhookNotFound();
  if (subscription.status !== "active") {
    throw new ApiError(409, `The webhook is ${subscription.status}; resume it (PATCH status "active") before redelivering.`);
  }
  const started = await env.DB.prepare(
    `UPDATE webhook_deliveries SET status = 'pending', round = round + 1, next_retry_at = NULL, updated_at = ?4
     WHERE id = ?1 AND subscription_id = ?2 AND organization_id = ?3 AND status NOT IN ('pending', 'retrying')
     RETURNING round`,
  )
    .bind(deliveryId, webhookId, organizationId, nowIso())
    .first<{ round: number }>();
  if (!started) {
    const current = await getDelivery(env.DB, organizationId, webhookId, deliveryId);
    if (!current) throw new ApiError(404, "This webhook has no delivery with this id.");
    throw new ApiError(
      409,
      current.status === "retrying"
        ? `This delivery is already being retried (next attempt at ${current.next_retry_at}); redeliver it once that round has ended.`
        : "This delivery is already queued; redeliver it once its attempts have ended.",
    );
  }
  try {
    await env.WEBHOOK_DELIVERIES.send({ delivery_id: deliveryId, round: started.round } satisfies DeliveryMessage, { contentType: "json" });
  } catch (err) {
    // Not queued: end the round at once, so it does not hold off every later redelivery.
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET status = 'dead_lettered', last_error = ?3, updated_at = ?4 WHERE id = ?1 AND round = ?2 AND status = 'pending'",
    )
      .bind(deliveryId, started.round, "The redelivery could not be queued; try again.", nowIso())
      .run();
    throw err;
  }
  return (await getDelivery(env.DB, organizationId, webhookId, deliveryId))!;
}
