// Events on/off write throughput (bench/events/run.sh): the CRM app as CrmService.handle() runs
// it, D1 wrapped by eventDatabase (the outbox triggers get their context, a relay runs after each
// write), with a fixed identity in place of the gateway's. The x-bench-row header picks the row,
// each with a database of its own, so the three rows run in one process and one isolate:
//   on    (e1)  DB as configured;
//   off   (e0)  DB_OFF with EVENTS_OUTBOX = "off": D1 as is;
//   write (e1w) DB_WRITE: the triggers and the context statements but no queue bound to the
//               wrapper: no relay, no queue broker, no consumer, the rows stay in the outbox (the
//               write path's own share of the outbox's cost).
// Without the header (bench/events/profile.sh) the vars decide (EVENTS_OUTBOX = "off", EVENTS_RELAY = "off"), on DB.
import { PERMISSION_ACTIONS, actorFromIdentity, eventDatabase, handleWithContext, type IdentityContextInput } from "../../../../packages/shared/src";
import { app } from "../../../../workers/crm/src/app";

interface BenchEnv {
  DB: D1Database;
  DB_OFF: D1Database;
  DB_WRITE: D1Database;
  EVENTS?: Queue;
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
    const url = new URL(request.url);
    const picked = url.searchParams.get("row") ?? request.headers.get("x-bench-row");
    const row = picked ?? (env.EVENTS_OUTBOX === "off" ? "off" : env.EVENTS_RELAY === "off" ? "write" : "on");
    const DB = picked === "off" ? env.DB_OFF : picked === "write" ? env.DB_WRITE : env.DB;
    // What the run checks afterwards: every accepted write has its event, relayed (or none when off).
    if (url.pathname === "/__outbox") {
      const counts = await DB.prepare("SELECT count(*) AS rows, count(relayed_at) AS relayed FROM outbox").first<{ rows: number; relayed: number }>();
      return Response.json({ ...counts, consumed: row === "on" ? consumed : 0 });
    }
    const rowEnv = { ...env, DB, EVENTS_OUTBOX: row === "off" ? "off" : "on", EVENTS: row === "on" ? env.EVENTS : undefined };
    const envFor = (identity: Parameters<typeof actorFromIdentity>[1], e: typeof rowEnv) => ({
      ...e,
      DB: eventDatabase(e, actorFromIdentity("crm", identity), (p) => ctx.waitUntil(p)),
    });
    return handleWithContext(app, rowEnv as never, ctx, request, { ...IDENTITY, request_id: crypto.randomUUID() }, { service: "crm", envFor: envFor as never });
  },
  async queue(batch) {
    // A message carries several events (the relay packs them): count events, not messages.
    for (const m of batch.messages) consumed += ((m.body as { events?: unknown[] }).events ?? []).length;
    batch.ackAll();
  },
} satisfies ExportedHandler<BenchEnv>;
