import { type PlatformEvent, PlatformEventSchema } from "../events";

export interface OutboxEntry {
  event: PlatformEvent;
  relayed_at: string | null;
  claimed_at: string | null;
}

/** The outbox rows of one organization, oldest first, each read back as the event it relays. */
export async function outboxOf(d1: D1Database, organizationId: string): Promise<OutboxEntry[]> {
  const { results } = await d1
    .prepare("SELECT * FROM outbox WHERE organization_id = ?1 ORDER BY seq")
    .bind(organizationId)
    .all<Record<string, string | null>>();
  return results.map((r) => ({
    event: PlatformEventSchema.parse({
      specversion: "1.0",
      id: r.id,
      source: r.source,
      type: r.type,
      time: r.time,
      subject: r.subject,
      datacontenttype: "application/json",
      organizationid: r.organization_id,
      actortype: r.actor_type,
      actorid: r.actor_id,
      requestid: r.request_id,
      data: JSON.parse(r.data ?? "{}"),
    }),
    relayed_at: r.relayed_at ?? null,
    claimed_at: r.claimed_at ?? null,
  }));
}

/** Waits (bounded) until every outbox row of the organization is relayed; returns them. */
export async function relayedOutbox(d1: D1Database, organizationId: string, expected: number): Promise<OutboxEntry[]> {
  let rows: OutboxEntry[] = [];
  for (let i = 0; i < 100; i++) {
    rows = await outboxOf(d1, organizationId);
    if (rows.length >= expected && rows.every((r) => r.relayed_at)) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`outbox of ${organizationId}: ${rows.length} rows, ${rows.filter((r) => r.relayed_at).length} relayed, expected ${expected} relayed`);
}

/**
 * A queue producer whose sends fail (a queue outage), delegating nothing: the relay's failure path.
 * Only the relay is given it; the sweep then uses the real binding.
 */
export const unavailableQueue = {
  send: async () => {
    throw new Error("Queue send failed: the queue is unavailable (fault injected by the test)");
  },
  sendBatch: async () => {
    throw new Error("Queue sendBatch failed: the queue is unavailable (fault injected by the test)");
  },
} as unknown as Queue;
