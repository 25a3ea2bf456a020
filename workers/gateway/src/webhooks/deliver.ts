import { logError, newId, nowIso, parseTraceparent, Telemetry, telemetryConfig } from "@buildly/shared";
import { deliveryConfig, retryDelaySeconds, type DeliveryConfig } from "./config";
import { DeliveryMessageSchema } from "./schemas";
import { openSecret } from "./secrets";
import { send } from "./send";
import { signatureHeaders } from "./sign";
import { cancelPending, type SubscriptionRow } from "./store";
import { targetPolicy } from "./target";

interface DeliveryRow {
  id: string;
  subscription_id: string;
  organization_id: string;
  event_id: string;
  payload: string;
  status: string;
  attempt_count: number;
  round: number;
}

/**
 * The delivery queue's consumer: one POST per message, all of a batch at once. A failure
 * (non-2xx, timeout, network error, refused target) retries the message with exponential backoff
 * (message.retry({ delaySeconds })); after WEBHOOK_MAX_ATTEMPTS the delivery is dead-lettered
 * (its row says so, with every attempt), and after WEBHOOK_DISABLE_AFTER_FAILURES dead-lettered
 * deliveries in a row the subscription is disabled with the reason.
 */
export async function deliverBatch(batch: MessageBatch<unknown>, env: Env, ctx?: ExecutionContext): Promise<void> {
  const cfg = deliveryConfig(env);
  const traced = telemetryConfig(env, "gateway") !== null;
  await Promise.all(
    batch.messages.map(async (message) => {
      // Only when export is on: each message's attempt continues the trace of the write that caused it.
      const tel = traced ? deliveryTelemetry(env, batch.queue, message) : undefined;
      try {
        await deliverOne(env, cfg, message, tel);
      } catch (err) {
        // Our own failure (D1 unreachable, a secret that cannot be opened), not the receiver's.
        logError(message.id, "gateway", err, { during: "webhook delivery" });
        tel?.root.fail(err);
        await giveUpOrRetry(env, cfg, message);
      } finally {
        if (tel) {
          tel.root.end();
          if (ctx) ctx.waitUntil(tel.flush());
          else await tel.flush();
        }
      }
    }),
  );
}

function deliveryTelemetry(env: Env, queue: string, message: Message<unknown>): Telemetry {
  const body = message.body as { traceparent?: unknown } | null;
  const parent = typeof body?.traceparent === "string" ? parseTraceparent(body.traceparent) : undefined;
  return new Telemetry(env, "gateway", {
    parent,
    name: `${queue} process`,
    kind: "consumer",
    attributes: {
      "messaging.system": "cloudflare_queues",
      "messaging.destination.name": queue,
      "messaging.operation.type": "process",
      "buildly.webhook.queue_attempt": message.attempts,
    },
    links: parent ? [{ traceId: parent.traceId, spanId: parent.spanId }] : undefined,
  });
}

/**
 * After our own failure: the queue tries again, within the same budget of attempts as the
 * receiver's failures; at the last one the delivery ends `dead_lettered` with the reason, so no
 * row is left `retrying` by a message the queue drops. If even that write fails, the queue
 * tries again (max_retries in wrangler.toml is above WEBHOOK_MAX_ATTEMPTS).
 */
async function giveUpOrRetry(env: Env, cfg: DeliveryConfig, message: Message<unknown>): Promise<void> {
  const parsed = DeliveryMessageSchema.safeParse(message.body);
  if (parsed.success && message.attempts >= cfg.maxAttempts) {
    try {
      const now = nowIso();
      await env.DB.prepare(
        `UPDATE webhook_deliveries SET status = 'dead_lettered', next_retry_at = NULL, last_error = ?3, updated_at = ?4
         WHERE id = ?1 AND round = ?2 AND status IN ('pending', 'retrying')`,
      )
        .bind(
          parsed.data.delivery_id,
          parsed.data.round ?? 0,
          `The platform failed to attempt this delivery ${message.attempts} times (an internal error); redeliver it to try again.`,
          now,
        )
        .run();
      return message.ack();
    } catch (err) {
      logError(message.id, "gateway", err, { during: "webhook delivery give-up" });
    }
  }
  message.retry({ delaySeconds: retryDelaySeconds(cfg, message.attempts) });
}

async function deliverOne(env: Env, cfg: DeliveryConfig, message: Message<unknown>, tel?: Telemetry): Promise<void> {
  const parsed = DeliveryMessageSchema.safeParse(message.body);
  if (!parsed.success) return message.ack();
  const d1 = env.DB;
  const row = await d1
    .prepare(
      `SELECT d.id, d.subscription_id, d.organization_id, d.event_id, d.payload, d.status, d.attempt_count, d.round,
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
  // Gone with its subscription, settled by an earlier copy of this message, or a message of an
  // earlier round (a redelivery has started another): only the current round's messages send.
  if (!row || !["pending", "retrying"].includes(row.status) || row.round !== (parsed.data.round ?? 0)) return message.ack();
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
  // The attempt as a client span (the receiver's host, never the URL's path or query, nor the payload); the receiver gets it as `traceparent`.
  const span = tel?.recording
    ? tel.span("webhook attempt", {
        kind: "client",
        attributes: {
          "http.request.method": "POST",
          "server.address": hostOf(row.url),
          "buildly.webhook.attempt": row.attempt_count + 1,
          "buildly.organization_id": row.organization_id,
        },
      })
    : undefined;
  const result = await send(row.url, row.payload, tel ? { ...headers, traceparent: tel.traceparent(span) } : headers, targetPolicy(env), cfg.timeoutMs);

  const attempt = row.attempt_count + 1;
  const now = nowIso();
  const retry = !result.ok && message.attempts < cfg.maxAttempts;
  const delay = retryDelaySeconds(cfg, message.attempts);
  const nextRetryAt = retry ? new Date(Date.now() + delay * 1000).toISOString() : null;
  const status = result.ok ? "delivered" : retry ? "retrying" : "dead_lettered";
  if (span && tel) {
    if (result.status !== null) span.setAttributes({ "http.response.status_code": result.status });
    span.setAttributes({ "buildly.webhook.outcome": status });
    if (!result.ok) span.fail(result.error ?? "failed");
    span.end();
    tel.count("buildly.webhook.attempts", { outcome: status });
    if (status === "dead_lettered") tel.count("buildly.webhook.dead_letters", {});
  }
  const statements = [
    d1
      .prepare(
        `INSERT INTO webhook_delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, response_status, succeeded, error, next_retry_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?2 AND round = ?10 AND attempt_count = ?11)`,
      )
      .bind(
        newId(),
        row.id,
        attempt,
        startedAt.toISOString(),
        result.durationMs,
        result.status,
        result.ok ? 1 : 0,
        result.error,
        nextRetryAt,
        row.round,
        row.attempt_count,
      ),
    d1
      .prepare(
        `UPDATE webhook_deliveries SET status = ?2, attempt_count = attempt_count + 1, next_retry_at = ?3, last_response_status = ?4, last_error = ?5,
           delivered_at = CASE WHEN ?2 = 'delivered' THEN ?6 ELSE delivered_at END, updated_at = ?6
         WHERE id = ?1 AND round = ?7 AND attempt_count = ?8`,
      )
      .bind(row.id, status, nextRetryAt, result.status, result.error, now, row.round, row.attempt_count),
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

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
