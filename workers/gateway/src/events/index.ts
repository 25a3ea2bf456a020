import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyHandler, lazyRoutes } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

export { actorOf, gatewayEvent, identityEvent, outboxInsert, outboxStatement, relaySoon, systemActor, userActor } from "./emit";
export { GATEWAY_EVENT_TYPES, type GatewayEventType } from "./types";
/** Records a batch in `events` and the audit trail (store.ts, audit.ts), loaded on first use, not at start-up. */
export const recordEvents = lazyHandler(() => import("./store").then((m) => m.recordEvents));

/** The queue every producer (the services' outboxes, the gateway's) sends to (wrangler.toml). */
export const EVENTS_QUEUE = "buildly-events";

/** The consumer of EVENTS_QUEUE (consumer.ts), loaded with its schemas by the first batch an isolate gets, not at start-up. */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env, ctx?: ExecutionContext): Promise<void> {
  return (await import("./consumer")).consumeEvents(batch, env, ctx);
}

/**
 * Events and the audit trail: GET /v1/events, GET /v1/audit, GET /v1/audit/verify (admins), and the
 * queue consumer. Each group is built on its first request (lazyRoutes): a new route goes in its list.
 */
export function registerEvents(app: OpenAPIHono<GatewayEnv>) {
  lazyRoutes(app, [["get", "/v1/events"]], () => import("./routes/events").then((m) => m.registerEventRoutes));
  lazyRoutes(
    app,
    [
      ["get", "/v1/audit/verify"],
      ["get", "/v1/audit"],
    ],
    () => import("./routes/audit").then((m) => m.registerAuditRoutes),
  );
}
