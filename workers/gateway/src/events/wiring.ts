import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyRoutes } from "@buildly/shared/service";
import type { GatewayEnv } from "../types";

/*
 * What the gateway's start-up takes from this room (app.ts, index.ts), apart from index.ts, whose
 * re-export of emit.ts would evaluate drizzle and the event schema in every isolate that starts:
 * the rooms that emit events import them through index.ts, loaded with their route groups.
 */

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
