import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyRoutes } from "@buildly/shared";
import type { GatewayEnv } from "../types";

export { consumeEvents, EVENTS_QUEUE } from "./consumer";
export { actorOf, gatewayEvent, identityEvent, outboxInsert, outboxStatement, relaySoon, systemActor, userActor } from "./emit";
export { GATEWAY_EVENT_TYPES, type GatewayEventType } from "./types";
export { recordEvents } from "./store";

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
