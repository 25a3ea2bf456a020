import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerAuditRoutes } from "./routes/audit";
import { registerEventRoutes } from "./routes/events";

export { consumeEvents, EVENTS_QUEUE } from "./consumer";
export { actorOf, gatewayEvent, identityEvent, outboxInsert, outboxStatement, relaySoon, systemActor, userActor } from "./emit";
export { GATEWAY_EVENT_TYPES, type GatewayEventType } from "./types";
export { recordEvents } from "./store";

/** Events and the audit trail: GET /v1/events, GET /v1/audit, GET /v1/audit/verify (admins), and the queue consumer. */
export function registerEvents(app: OpenAPIHono<GatewayEnv>) {
  registerEventRoutes(app);
  registerAuditRoutes(app);
}
