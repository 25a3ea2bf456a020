import { z } from "@hono/zod-openapi";
import { EVENT_SERVICE_SEGMENT, EVENT_TYPE_PATTERN, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { VERIFY_MAX_ENTRIES } from "./audit";

const EventTypeSchema = z.string().max(128).regex(EVENT_TYPE_PATTERN, "An event type is <service>.<model>.<action>, e.g. crm.contact.created");
const withOffset = z.iso.datetime({ offset: true });
/** RFC 3339 with Z or an offset (hours 00 to 23), seconds required: the pattern is the one zod checks. */
const Time = withOffset.openapi({ pattern: withOffset._zod.def.pattern?.source });

/** The CloudEvents 1.0 envelope (packages/shared/src/events.ts), as the API shows it. */
export const EventSchema = z
  .object({
    specversion: z.literal("1.0"),
    id: z.string(),
    source: z.string().openapi({ example: "/buildly/crm" }),
    type: z.string().openapi({ example: "crm.contact.created" }),
    time: TimestampSchema,
    subject: z.string().openapi({ description: "The id of the record the event is about." }),
    datacontenttype: z.literal("application/json"),
    organizationid: z.string(),
    actortype: z.enum(["user", "client", "system"]),
    actorid: z.string().nullable(),
    requestid: z.string().nullable(),
    compensated: z.literal(true).optional().openapi({
      description: "Present on the events of a write that undid a step of a failed joined write; the undone steps' events carry the same requestid.",
    }),
    data: z.record(z.string(), z.unknown()).openapi({ description: "The record after the change; for a delete, { id }." }),
  })
  .openapi("Event");

export const EventListQuerySchema = PaginationQuerySchema.extend({
  type: EventTypeSchema.optional().openapi({ example: "crm.contact.updated" }),
  subject: z.string().min(1).max(256).optional().openapi({ description: "Only events about this record id." }),
  after: Time.optional().openapi({ description: "Only events that happened after this time (RFC 3339)." }),
});
export const EventListSchema = listResponseSchema(EventSchema, "EventList");

export const AuditEntrySchema = z
  .object({
    seq: z.number().int().openapi({ description: "The entry's position in the organization's chain, from 1." }),
    event_id: z.string(),
    time: TimestampSchema,
    service: z.string().openapi({ example: "crm" }),
    type: z.string().openapi({ example: "crm.contact.created" }),
    subject: z.string(),
    actor: z.object({ type: z.enum(["user", "client", "system"]), id: z.string().nullable() }),
    request_id: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    prev_hash: z.string().openapi({ description: "The previous entry's hash (64 zeros for the first entry)." }),
    hash: z.string().openapi({ description: "SHA-256 (hex) over this entry's canonical content and prev_hash." }),
    recorded_at: TimestampSchema,
  })
  .openapi("AuditEntry");

export const AuditListQuerySchema = PaginationQuerySchema.extend({
  actor: z.string().min(1).max(256).optional().openapi({ description: "Only entries by this user or client id." }),
  service: z
    .string()
    .max(64)
    .regex(new RegExp(`^${EVENT_SERVICE_SEGMENT}$`), "A service name: crm, documents, appointments, identity or another registered service")
    .optional()
    .openapi({ example: "crm" }),
  type: EventTypeSchema.optional(),
  from: Time.optional().openapi({ description: "Only entries whose event happened at or after this time." }),
  to: Time.optional().openapi({ description: "Only entries whose event happened before this time." }),
}).superRefine((q, ctx) => {
  if (q.from && q.to && Date.parse(q.from) > Date.parse(q.to)) ctx.addIssue({ code: "custom", path: ["from"], message: "from must not be after to" });
});
export const AuditListSchema = listResponseSchema(AuditEntrySchema, "AuditEntryList");

export const VerifyQuerySchema = z.object({
  from_seq: z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .default(1)
    .openapi({ description: "Where to start (a previous answer's next_from_seq); a seq removed by retention starts after pruned_through_seq." }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(VERIFY_MAX_ENTRIES)
    .default(VERIFY_MAX_ENTRIES)
    .openapi({ description: `Entries to re-walk, at most ${VERIFY_MAX_ENTRIES}.` }),
});

export const VerifyReportSchema = z
  .object({
    intact: z.boolean().openapi({ description: "Whether every entry walked is intact (see complete for whether the walk reached the head)." }),
    complete: z.boolean().openapi({ description: "Whether the walk reached the newest entry; if not, continue from next_from_seq." }),
    from_seq: z.number().int(),
    to_seq: z.number().int().nullable(),
    checked: z.number().int(),
    head_seq: z.number().int(),
    broken: z
      .object({
        seq: z.number().int(),
        event_id: z.string().nullable(),
        reason: z.enum(["hash_mismatch", "data_mismatch", "prev_hash_mismatch", "missing_entry"]),
      })
      .nullable(),
    next_from_seq: z.number().int().nullable(),
    pruned_through_seq: z
      .number()
      .int()
      .nullable()
      .openapi({
        description:
          "Entries up to this seq were removed by retention (the organization keeps its newest events, see the docs); the walk starts after it " +
          "and the first kept entry must link to the removed entry's hash. null when none were removed.",
      }),
  })
  .openapi("AuditVerification");
