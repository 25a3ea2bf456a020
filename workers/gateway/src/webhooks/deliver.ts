import { logError, newId, nowIso } from "@buildly/shared";
import { deliveryConfig, retryDelaySeconds, type DeliveryConfig } from "./config";
import { DeliveryMessageSchema } from "./schemas";
import { openSecret } from "./secrets";
import { send } from "./send";
import { signatureHeaders } from "./sign";
import { cancelPending, type SubscriptionRow } from "./store";
import { targetPolicy } from "./target";

/** The queue the gateway produces deliveries to and consumes them from (wrangler.toml). */
export const WEBHOOK_DELIVERY_QUEUE = "buildly-webhook-deliveries";

interface DeliveryRow {
  id: string;
  subscription_id: string;
  organization_id: string;
  event_id: string;
  payload: string;
  status: string;
  attempt_count: number;
}

/**
 * The delivery queue's consumer: one POST per message, all of a batch at once. A failure
 * (non-2xx, timeout, network error, refused target) retries the message with exponential backoff
 * (message.retry({ delaySeconds })); after WEBHOOK_MAX_ATTEMPTS the delivery is dead-lettered
 * (its row says so, with every attempt), and after WEBHOOK_DISABLE_AFTER_FAILURES dead-lettered
 * deliveries in a row the subscription is disabled with the reason.
 */
export async function deliverBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const cfg = deliveryConfig(env);
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        await deliverOne(env, cfg, message);
      } catch (err) {
        // Our own failure (D1 unreachable, say), not the receiver's: the queue tries again.
        logError(message.id, "gateway", err, { during: "webhook delivery" });
        message.retry({ delaySeconds: retryDelaySeconds(cfg, message.attempts) });
      }
    }),
  );
}

async function deliverOne(env: Env, cfg: DeliveryConfig, message: Message<unknown>): Promise<void> {
  const parsed = DeliveryMessageSchema.safeParse(message.body);
  if (!parsed.success) return message.ack();
  const d1 = env.DB;
  const row = await d1
    .prepare(
      `SELECT d.id, d.subscription_id, d.organization_id, d.event_id, d.payload, d.status, d.attempt_count,
              s.url, s.status AS subscription_status, s.secret_sealed, s.previous_secret_sealed, s.previous_secret_expires_at
       FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.organization_id = d.organization_id
       WHERE d.id = ?1`,
    )
    .bind(parsed.data.delivery_id)
    .first<
      DeliveryRow &
        Pick<SubscriptionRow, "url" | "secret_sealed" | "previous_secret_sealed" | "previous_secret_expires_at"> & {
          subscription_status: SubscriptionRow["status"];
        }
    >();
  // Gone with its subscription, or settled by an earlier copy of this message.
  if (!row || !["pending", "retrying"].includes(row.status)) return message.ack();
  if (row.subscription_status !== "active") {
    await cancelPending(d1, row.subscription_id, nowIso(), `The webhook was ${row.subscription_status}.`).run();
    return message.ack();
  }

  const secrets = [await openSecret(env, row.secret_sealed)];
  if (row.previous_secret_sealed && row.previous_secret_expires_at && row.previous_secret_expires_at > nowIso()) {
    secrets.push(await openSecret(env, row.previous_secret_sealed));
  }
  const startedAt = new Date();
  const headers = signatureHeaders(secrets, row.event_id, startedAt, row.payload);
  const result = await send(row.url, row.payload, headers, targetPolicy(env), cfg.timeoutMs);

  const attempt = row.attempt_count + 1;
  const now = nowIso();
  const retry = !result.ok && message.attempts < cfg.maxAttempts;
  const delay = retryDelaySeconds(cfg, message.attempts);
  const nextRetryAt = retry ? new Date(Date.now() + delay * 1000).toISOString() : null;
  const status = result.ok ? "delivered" : retry ? "retrying" : "dead_lettered";
  const statements = [
    d1
      .prepare(
        `INSERT INTO webhook_delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, response_status, succeeded, error, next_retry_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
      )
      .bind(newId(), row.id, attempt, startedAt.toISOString(), result.durationMs, result.status, result.ok ? 1 : 0, result.error, nextRetryAt),
    d1
      .prepare(
        `UPDATE webhook_deliveries SET status = ?2, attempt_count = attempt_count + 1, next_retry_at = ?3, last_response_status = ?4, last_error = ?5,
           delivered_at = CASE WHEN ?2 = 'delivered' THEN ?6 ELSE delivered_at END, updated_at = ?6
         WHERE id = ?1`,
      )
      .bind(row.id, status, nextRetryAt, result.status, result.error, now),
  ];
  if (result.ok) {
    statements.push(
      d1.prepare("UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = ?1 AND consecutive_failures <> 0").bind(row.subscription_id),
    );
  } else if (!retry) {
    const reason =
      `Disabled after ${cfg.disableAfterFailures} deliveries in a row failed (${cfg.maxAttempts} attempts each); ` +
      `the last: ${result.error ?? "no answer"}. Fix the receiver, then PATCH status "active" to resume.`;
    statements.push(
      d1
        .prepare(
          `UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1,
             status = CASE WHEN status = 'active' AND consecutive_failures + 1 >= ?2 THEN 'disabled' ELSE status END,
             disabled_reason = CASE WHEN status = 'active' AND consecutive_failures + 1 >= ?2 THEN ?3 ELSE disabled_reason END,
             updated_at = ?4
           WHERE id = ?1`,
        )
        .bind(row.subscription_id, cfg.disableAfterFailures, reason, now),
    );
  }
  await d1.batch(statements);
  if (retry) message.retry({ delaySeconds: delay });
  else message.ack();
}
