// Events on/off write throughput (bench/events/run.sh): the CRM app as CrmService.handle() runs
// it, D1 wrapped by eventDatabase (the outbox triggers get their context, a relay runs after each
// write), with a fixed identity in place of the gateway's. EVENTS_OUTBOX = "off" leaves D1 as is.
// EVENTS_RELAY = "off" (row (e1w)) keeps the triggers and the context statements but binds no
// queue to the wrapper: no claim in the batch, no relay, no queue broker, no consumer, the rows
// stay in the outbox (the write path's own share of the outbox's cost).
import { PERMISSION_ACTIONS, actorFromIdentity, eventDatabase, handleWithContext, type IdentityContextInput } from "../../../../packages/shared/src";
import { app } from "../../../../workers/crm/src/app";

interface BenchEnv {
  DB: D1Database;
  EVENTS: Queue;
  EVENTS_OUTBOX: string;
  EVENTS_RELAY?: string;
}

const SERVICES = ["crm", "documents", "appointments"];
const IDENTITY: Omit<IdentityContextInput, "request_id"> = {
  user_id: "00000000-0000-4000-8000-00000000beec",
  organization_id: "00000000-0000-4000-8000-000000000001",
  roles: [],
  permissions: Object.fromEntries(SERVICES.map((s) => [s, [...PERMISSION_ACTIONS]])),
  system: false,
};

let consumed = 0;

export default {
  async fetch(request, env, ctx): Promise<Response> {
    // What the run checks afterwards: every accepted write has its event, relayed (or none when off).
    if (new URL(request.url).pathname === "/__outbox") {
      const row = await env.DB.prepare("SELECT count(*) AS rows, count(relayed_at) AS relayed FROM outbox").first<{ rows: number; relayed: number }>();
      return Response.json({ ...row, consumed });
    }
    const envFor = (identity: Parameters<typeof actorFromIdentity>[1], e: typeof env) => ({
      ...e,
      DB: eventDatabase(e.EVENTS_RELAY === "off" ? { ...e, EVENTS: undefined } : e, actorFromIdentity("crm", identity), (p) => ctx.waitUntil(p)),
    });
    return handleWithContext(app, env as never, ctx, request, { ...IDENTITY, request_id: crypto.randomUUID() }, { service: "crm", envFor: envFor as never });
  },
  async queue(batch) {
    // A message carries several events (the relay packs them): count events, not messages.
    for (const m of batch.messages) consumed += ((m.body as { events?: unknown[] }).events ?? []).length;
    batch.ackAll();
  },
} satisfies ExportedHandler<BenchEnv>;
