import type { PlatformEvent } from "@buildly/shared";
import { appendEvents } from "./audit";

/**
 * Records a batch of events: each new one once in `events` (dedupe by id) and in its
 * organization's audit trail. Returns the events that were new, in the order received:
 * duplicates (a redelivery, a relay that ran twice) are dropped here.
 */
export async function recordEvents(env: { DB: D1Database }, events: PlatformEvent[]): Promise<PlatformEvent[]> {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  const byOrganization = new Map<string, PlatformEvent[]>();
  for (const e of unique) {
    const list = byOrganization.get(e.organizationid);
    if (list) list.push(e);
    else byOrganization.set(e.organizationid, [e]);
  }
  const fresh = new Set<string>();
  for (const [org, list] of byOrganization) for (const e of await appendEvents(env.DB, org, list)) fresh.add(e.id);
  return unique.filter((e) => fresh.has(e.id));
}
