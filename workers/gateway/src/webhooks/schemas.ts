import { z } from "@hono/zod-openapi";
import { EVENT_NAME_SEGMENT, EVENT_SERVICE_SEGMENT, IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { MAX_URL_LENGTH } from "./target";

/** How many subscriptions one organization may have, and patterns one subscription: fan-out stays bounded. */
export const MAX_SUBSCRIPTIONS_PER_ORGANIZATION = 25;
export const MAX_PATTERNS = 20;

const SERVICE = EVENT_SERVICE_SEGMENT;
const SEGMENT = EVENT_NAME_SEGMENT;
/** `*`, `service.*`, `service.model.*` or an exact type `service.model.action`. */
export const PATTERN = new RegExp(`^(\\*|${SERVICE}\\.\\*|${SERVICE}\\.${SEGMENT}\\.\\*|${SERVICE}\\.${SEGMENT}\\.${SEGMENT})$`);

export const EventPatternSchema = z
  .string()
  .max(128)
  .regex(PATTERN, "An event type (crm.contact.created), service.model.* (crm.contact.*), service.* (crm.*) or *")
  .openapi({ example: "crm.contact.*" });

const EventsSchema = z
  .array(EventPatternSchema)
  .min(1)
  .max(MAX_PATTERNS)
  .openapi({ description: `1 to ${MAX_PATTERNS} event patterns; an event is delivered when its type matches any of them.` });

const UrlSchema = z
  .string()
  .min(1)
  .max(MAX_URL_LENGTH)
  .openapi({
    format: "uri",
    pattern: "^https://[^/?#]",
    description:
      "Where events are POSTed: an absolute https URL of a public host. Private, loopback, link-local, shared (CGNAT), unique-local and multicast " +
      "addresses, `localhost`, single-label and private-suffix names (.local, .internal, ...), user information and other schemes are refused.",
    example: "https://hooks.example.com/buildly",
  });

const DescriptionSchema = z.string().trim().max(500);

export const WebhookInputSchema = z
  .object({ url: UrlSchema, events: EventsSchema, description: DescriptionSchema.optional() })
  .strict()
  .openapi("WebhookInput");
export type WebhookInput = z.infer<typeof WebhookInputSchema>;

export const WebhookPatchSchema = z
  .object({
    url: UrlSchema.optional(),
    events: EventsSchema.optional(),
    description: DescriptionSchema.nullable().optional(),
    status: z.enum(["active", "paused"]).optional().openapi({
      description: "paused: no new deliveries (pending ones are cancelled). active: resume, also a subscription the platform disabled.",
    }),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: "Send at least one of url, events, description, status" })
  .openapi("WebhookPatch", { minProperties: 1 });
export type WebhookPatch = z.infer<typeof WebhookPatchSchema>;

export const WEBHOOK_STATUSES = ["active", "paused", "disabled"] as const;

export const WebhookSchema = z
  .object({
    id: IdSchema,
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    status: z.enum(WEBHOOK_STATUSES).openapi({ description: "disabled: the platform stopped it after deliveries kept failing (see disabled_reason)." }),
    disabled_reason: z.string().nullable(),
    created_by: z.string().nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Webhook");
export type Webhook = z.infer<typeof WebhookSchema>;

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().openapi({
    description: "The signing secret (Standard Webhooks form whsec_<base64>). Shown only in this answer: store it now.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).openapi("WebhookWithSecret");

export const WebhookListSchema = listResponseSchema(WebhookSchema, "WebhookList");

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "dead_lettered", "cancelled"] as const;

export const DeliveryAttemptSchema = z
  .object({
    attempt: z.number().int(),
    started_at: TimestampSchema,
    duration_ms: z.number().int(),
    response_status: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The receiver's HTTP status; null when none came (timeout, network error, refused target)." }),
    succeeded: z.boolean(),
    error: z.string().nullable(),
    next_retry_at: TimestampSchema.nullable().openapi({ description: "When the next attempt is due; null when none follows." }),
  })
  .openapi("WebhookDeliveryAttempt");

export const DeliverySchema = z
  .object({
    id: IdSchema,
    webhook_id: IdSchema,
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description:
        "pending: queued; retrying: an attempt failed, another is due at next_retry_at; delivered: a 2xx came back; " +
        "dead_lettered: every attempt failed, or the platform itself failed to attempt it that often (last_error says so); " +
        "cancelled: the subscription was paused or disabled first.",
    }),
    attempt_count: z.number().int(),
    next_retry_at: TimestampSchema.nullable(),
    last_response_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    delivered_at: TimestampSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    attempts: z.array(DeliveryAttemptSchema).openapi({ description: "The latest attempts, oldest first (at most 20)." }),
  })
  .openapi("WebhookDelivery");
export type Delivery = z.infer<typeof DeliverySchema>;

export const DeliveryListSchema = listResponseSchema(DeliverySchema, "WebhookDeliveryList");

export const DeliveryQuerySchema = PaginationQuerySchema.extend({ status: z.enum(DELIVERY_STATUSES).optional() });

export const DeliveryParamSchema = z.object({
  id: IdSchema.openapi({ param: { name: "id", in: "path" } }),
  delivery_id: IdSchema.openapi({ param: { name: "delivery_id", in: "path" } }),
});

/**
 * What a message on the delivery queue carries: the row holds the rest. `round` is the delivery's
 * round of attempts the message belongs to (0, the fan-out's, when absent; each redelivery starts
 * the next): a message of another round than the row's is stale and is acknowledged unsent.
 */
export const DeliveryMessageSchema = z.object({
  delivery_id: z.string().min(1).max(64),
  round: z.number().int().min(0).optional(),
  /** The consumer span that queued it (W3C; validated again when used): the attempts continue its trace. */
  traceparent: z.string().max(600).optional(),
});
export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;
