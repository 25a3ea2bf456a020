import { newId, nowIso, type PlatformEvent } from "@buildly/shared";
import type { DeliveryMessage } from "./schemas";

/** The patterns that match an event type: itself, service.model.*, service.* and *. */
export function candidatePatterns(type: string): string[] {
  const [service, model] = type.split(".");
  return [type, `${service}.${model}.*`, `${service}.*`, "*"];
}

/** Statements per D1 batch and messages per Queue sendBatch (the Queues limit is 100). */
const CHUNK = 100;

/**
 * Hands events to the webhooks: for each event, the active subscriptions of its own organization
 * whose patterns match get one delivery row (unique per subscription and event) and one message
 * on the delivery queue. One indexed lookup per organization in the batch; at most
 * MAX_SUBSCRIPTIONS_PER_ORGANIZATION deliveries per event.
 *
 * Idempotent: called again with the same events (the caller's batch retried), no delivery row is
 * doubled, and the ones not yet attempted are queued again, so a failure between the insert and
 * the send loses nothing (a receiver may then see a delivery twice, which webhook-id lets it drop).
 */
export async function fanOut(env: Env, events: PlatformEvent[], traceparentOf?: (eventId: string) => string | undefined): Promise<{ deliveries: number }> {
  const byOrganization = new Map<string, PlatformEvent[]>();
  for (const e of events) byOrganization.set(e.organizationid, [...(byOrganization.get(e.organizationid) ?? []), e]);
  const now = nowIso();
  const inserts: D1PreparedStatement[] = [];
  const pairs: { subscription: string; event: string }[] = [];
  for (const [organizationId, orgEvents] of byOrganization) {
    const candidates = [...new Set(orgEvents.flatMap((e) => candidatePatterns(e.type)))];
    const { results } = await env.DB.prepare(
      `SELECT p.pattern, p.subscription_id FROM webhook_patterns p JOIN webhook_subscriptions s ON s.id = p.subscription_id
       WHERE p.organization_id = ?1 AND p.pattern IN (SELECT value FROM json_each(?2)) AND s.status = 'active' AND s.organization_id = ?1`,
    )
      .bind(organizationId, JSON.stringify(candidates))
      .all<{ pattern: string; subscription_id: string }>();
    if (!results.length) continue;
    for (const e of orgEvents) {
      const wanted = new Set(candidatePatterns(e.type));
      const subscriptions = new Set(results.filter((r) => wanted.has(r.pattern)).map((r) => r.subscription_id));
      const payload = JSON.stringify(e);
      for (const subscription of subscriptions) {
        pairs.push({ subscription, event: e.id });
        inserts.push(
          env.DB.prepare(
            `INSERT INTO webhook_deliveries (id, subscription_id, organization_id, event_id, event_type, payload, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7) ON CONFLICT (subscription_id, event_id) DO NOTHING`,
          ).bind(newId(), subscription, organizationId, e.id, e.type, payload, now),
        );
      }
    }
  }
  if (!pairs.length) return { deliveries: 0 };
  for (let i = 0; i < inserts.length; i += CHUNK) await env.DB.batch(inserts.slice(i, i + CHUNK));

  // The rows to queue: every one of these pairs not attempted yet (new, or left by a failed send).
  const ids: string[] = [];
  const eventOf = new Map<string, string>();
  for (let i = 0; i < pairs.length; i += CHUNK) {
    const { results } = await env.DB.prepare(
      `SELECT d.id, d.event_id FROM webhook_deliveries d JOIN json_each(?1) j
         ON d.subscription_id = json_extract(j.value, '$.subscription') AND d.event_id = json_extract(j.value, '$.event')
       WHERE d.status = 'pending' AND d.attempt_count = 0`,
    )
      .bind(JSON.stringify(pairs.slice(i, i + CHUNK)))
      .all<{ id: string; event_id: string }>();
    for (const r of results) {
      ids.push(r.id);
      eventOf.set(r.id, r.event_id);
    }
  }
  for (let i = 0; i < ids.length; i += CHUNK) {
    await env.WEBHOOK_DELIVERIES.sendBatch(
      ids.slice(i, i + CHUNK).map((id) => {
        // The trace of the write that caused it (when traced): each attempt's span continues it.
        const traceparent = traceparentOf?.(eventOf.get(id)!);
        return { body: { delivery_id: id, ...(traceparent ? { traceparent } : {}) } satisfies DeliveryMessage, contentType: "json" as const };
      }),
    );
  }
  return { deliveries: ids.length };
}
