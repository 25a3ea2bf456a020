import { z } from "zod";

/**
 * An event type's first part: the service's name, which may hold single hyphens (a service made
 * by `npm run new-service -- work-orders` emits `work-orders.item.created`).
 */
export const EVENT_SERVICE_SEGMENT = "[a-z][a-z0-9_]*(?:-[a-z0-9_]+)*";
/** Its model and action parts. */
export const EVENT_NAME_SEGMENT = "[a-z][a-z0-9_]*";
export const EVENT_TYPE_PATTERN = new RegExp(`^${EVENT_SERVICE_SEGMENT}\\.${EVENT_NAME_SEGMENT}\\.${EVENT_NAME_SEGMENT}$`);

/**
 * A platform event: one change in one service, as CloudEvents 1.0 JSON (structured mode).
 *
 * CloudEvents allows only lower-case letters and digits in attribute names, so the
 * platform's extension attributes are `organizationid`, `actortype`, `actorid` and
 * `requestid` (a receiver's CloudEvents SDK would refuse `organization_id`).
 *
 * This is the contract between the producers (each logic service's outbox, the gateway's
 * identity capability), the consumer that records events and the audit trail, and the
 * webhook deliveries: everything that crosses a Worker or a queue uses this schema.
 */
export const PlatformEventSchema = z.object({
  specversion: z.literal("1.0"),
  /** Unique per event; consumers deduplicate by it. */
  id: z.string().min(1).max(128),
  /** The producing service, e.g. "/buildly/crm" or "/buildly/gateway". */
  source: z.string().min(1).max(256),
  /** `<service>.<model>.<action>`, e.g. `crm.contact.created`, `identity.user.invited`. */
  type: z.string().regex(EVENT_TYPE_PATTERN).max(128),
  /** ISO 8601 with milliseconds and Z. */
  time: z.string().datetime(),
  /** The id of the record the event is about. */
  subject: z.string().min(1).max(256),
  datacontenttype: z.literal("application/json"),
  organizationid: z.string().min(1),
  /** "user", "client" (an API client acting for itself) or "system" (a sweep, a timer). */
  actortype: z.enum(["user", "client", "system"]),
  actorid: z.string().min(1).nullable(),
  requestid: z.string().min(1).max(128).nullable(),
  /**
   * Present (true) on the events of a write that undid a step of a failed joined write ("Nothing
   * of this request was kept"): the events of the undone steps carry the same `requestid`.
   */
  compensated: z.literal(true).optional(),
  /** The record after the change; for a delete, `{ id }`. Never secrets or file bodies. */
  data: z.record(z.string(), z.unknown()),
});
export type PlatformEvent = z.infer<typeof PlatformEventSchema>;

/** Who acts, as the outbox and the CloudEvents extension attributes record it. */
export interface EventActor {
  /** The producing service's CloudEvents source, e.g. "/buildly/crm". */
  source: string;
  actortype: PlatformEvent["actortype"];
  actorid: string | null;
  requestid: string | null;
  /** The write undoes a step of a failed request (IdentityContext.compensation): its events say `compensated: true`. */
  compensation?: boolean;
  /** The writing span's W3C traceparent, when traced: the queue consumer continues the trace from it. */
  traceparent?: string;
}

/** What a queue message between Workers carries: one or more events from one producer. */
export const EventBatchMessageSchema = z.object({
  events: z.array(PlatformEventSchema).min(1).max(100),
  /** event id -> the W3C traceparent of the write that produced it (when traced); checked again by the consumer. */
  traces: z.record(z.string().max(100), z.string().max(600)).optional(),
});
export type EventBatchMessage = z.infer<typeof EventBatchMessageSchema>;

/** A new event (the gateway's identity events build theirs with this; the services' triggers build theirs in SQL). */
export function buildEvent(
  actor: EventActor,
  e: { type: string; subject: string; organizationid: string; data: Record<string, unknown>; id?: string; time?: string },
): PlatformEvent {
  return PlatformEventSchema.parse({
    specversion: "1.0",
    id: e.id ?? crypto.randomUUID(),
    source: actor.source,
    type: e.type,
    time: e.time ?? new Date().toISOString(),
    subject: e.subject,
    datacontenttype: "application/json",
    organizationid: e.organizationid,
    actortype: actor.actortype,
    actorid: actor.actorid,
    requestid: actor.requestid,
    data: e.data,
  });
}
