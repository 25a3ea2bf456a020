import { lazyHandler } from "@buildly/shared/service";

export { actorOf, gatewayEvent, identityEvent, outboxInsert, outboxStatement, relaySoon, systemActor, userActor } from "./emit";
export { GATEWAY_EVENT_TYPES, type GatewayEventType } from "./types";
/** Records a batch in `events` and the audit trail (store.ts, audit.ts), loaded on first use, not at start-up. */
export const recordEvents = lazyHandler(() => import("./store").then((m) => m.recordEvents));

export { consumeEvents, EVENTS_QUEUE, registerEvents } from "./wiring";
