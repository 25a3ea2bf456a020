import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";

export const SubjectSchema = z
  .strictObject({
    email: z.email().max(254).optional().openapi({ example: "grace@navy.example" }),
    contact_id: IdSchema.optional(),
    user_id: IdSchema.optional(),
  })
  .refine((s) => s.email !== undefined || s.contact_id !== undefined || s.user_id !== undefined, {
    message: "Name the person by email, contact_id or user_id.",
  })
  .openapi("PrivacySubject");

export const PrivacyRequestCreateSchema = z
  .strictObject({
    type: z.enum(["access", "erasure"]).openapi({ description: "access (GDPR art. 15, 20) or erasure (art. 17)." }),
    subject: SubjectSchema,
    dry_run: z.boolean().default(false).openapi({ description: "Erasure only: list what would be deleted or anonymized per service, change nothing." }),
  })
  .openapi("PrivacyRequestCreate");

const ArchiveSchema = z
  .object({
    url: z.string().openapi({
      description: "A signed download link (relative to the gateway), valid until expires_at; it needs no token.",
      example: "/v1/privacy/requests/0f0c.../archive?expires=1796563200&signature=...",
    }),
    expires_at: TimestampSchema,
    bytes: z.number().int(),
    sha256: z.string().openapi({ description: "SHA-256 of the whole zip, hex." }),
    entries: z.number().int().openapi({ description: "Entries in the zip, manifest.json included." }),
    created_at: TimestampSchema,
  })
  .openapi("PrivacyArchive");

const StepSchema = z
  .object({
    service: z.string().openapi({ example: "crm" }),
    model: z.string().optional().openapi({ example: "contacts" }),
    action: z.enum(["delete", "anonymize", "keep"]).optional(),
    ids: z.array(z.string()).optional().openapi({ description: "Records erased (or, dry run, that would be)." }),
    held: z.array(z.string()).optional().openapi({ description: "Records a legal hold kept from erasure." }),
    kept: z.array(z.string()).optional().openapi({ description: "Records kept under the model's legal basis." }),
    legal_basis: z.string().nullable().optional(),
    objects_deleted: z.number().int().optional().openapi({ description: "Stored files (R2 objects) deleted." }),
    remaining: z.boolean().optional(),
    count: z.number().int().optional().openapi({
      description:
        "Erasure: join records removed, identity rows deleted, audit entries redacted, or (consents) withdrawals appended for purposes still given. Access: records in the archive.",
    }),
    objects: z.number().int().optional().openapi({ description: "Access: stored files (bodies) of the model in the archive." }),
    at: TimestampSchema,
  })
  .openapi("PrivacyStep");

export const PrivacyRequestSchema = z
  .object({
    id: IdSchema,
    type: z.enum(["access", "erasure"]),
    dry_run: z.boolean(),
    status: z.enum(["pending", "running", "completed", "failed"]),
    phase: z.string().openapi({
      description: "Where the run is: resolve, service:<name>, identity, joins, audit:<seq>, done (access: resolve, archive, done).",
      example: "service:crm",
    }),
    subject: z
      .union([SubjectSchema, z.object({ erased: z.literal(true) })])
      .openapi({ description: "Whom the request is about; `{ erased: true }` once an erasure completed." }),
    steps: z.array(StepSchema),
    error: z
      .object({
        remaining: z.array(
          z.object({
            service: z.string(),
            phase: z.string(),
            problem: z.object({ status: z.number().int(), title: z.string(), detail: z.string().nullable() }),
          }),
        ),
      })
      .nullable()
      .openapi({ description: "What remains: each service whose part could not be done (the request is then failed, never a silent partial success)." }),
    archive: ArchiveSchema.nullable().openapi({
      description: "Access requests: the stored archive and a fresh download link (null until it is built, and once the person is erased).",
    }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    completed_at: TimestampSchema.nullable(),
  })
  .openapi("PrivacyRequest");

// Legal holds -----------------------------------------------------------------------------------

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export const LegalHoldCreateSchema = z
  .strictObject({
    service: z.string().regex(NAME).openapi({ example: "crm", description: "A service of the catalog (GET /v1/mesh/models)." }),
    model: z.string().regex(NAME).openapi({ example: "activities" }),
    record_id: IdSchema.openapi({ description: "The record, which must exist in your organization." }),
    reason: z.string().trim().min(1).max(500).openapi({ example: "Litigation 2026-114: keep the meeting notes." }),
  })
  .openapi("LegalHoldCreate");

export const LegalHoldReleaseSchema = z
  .strictObject({ reason: z.string().trim().min(1).max(500).optional().openapi({ example: "Case closed." }) })
  .openapi("LegalHoldRelease");

export const LegalHoldSchema = z
  .object({
    id: IdSchema,
    service: z.string(),
    model: z.string(),
    record_id: IdSchema,
    reason: z.string(),
    created_by: z.string().nullable().openapi({ description: "Who placed the hold (user or client id)." }),
    created_at: TimestampSchema,
    released_by: z.string().nullable(),
    released_at: TimestampSchema.nullable().openapi({ description: "Null while the hold is in force." }),
    release_reason: z.string().nullable(),
  })
  .openapi("LegalHold");

export const LegalHoldListQuerySchema = PaginationQuerySchema.extend({
  status: z.enum(["active", "released", "all"]).default("active").openapi({ description: "Holds in force (default), released ones, or both." }),
  service: z.string().regex(NAME).optional(),
  model: z.string().regex(NAME).optional(),
  record_id: IdSchema.optional(),
});

export const LegalHoldListSchema = listResponseSchema(LegalHoldSchema, "LegalHoldList");

// Consents --------------------------------------------------------------------------------------

/** A token, not free text: a consent record names no person beyond the contact's id. */
const TOKEN = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;

export const ConsentCreateSchema = z
  .strictObject({
    contact_id: IdSchema.openapi({ description: "A CRM contact of your organization." }),
    purpose: z
      .string()
      .regex(TOKEN)
      .openapi({ example: "newsletter", description: "What the consent is for: lower-case letters, digits, _ . : - (at most 64)." }),
    status: z.enum(["given", "withdrawn"]),
    source: z
      .string()
      .regex(TOKEN)
      .openapi({ example: "web_form", description: "Where it was given or withdrawn, as a token like purpose (never free text)." }),
    at: TimestampSchema.optional().openapi({ description: "When the person gave or withdrew it (default: now; never in the future)." }),
  })
  .openapi("ConsentCreate");

export const ConsentSchema = z
  .object({
    id: IdSchema,
    contact_id: IdSchema,
    purpose: z.string(),
    status: z.enum(["given", "withdrawn"]),
    source: z.string(),
    at: TimestampSchema,
    recorded_by: z.string().nullable().openapi({ description: "Who recorded it (user or client id); null when erasure recorded a withdrawal." }),
    recorded_at: TimestampSchema,
  })
  .openapi("Consent");

export const ConsentContactQuerySchema = z.object({ contact_id: IdSchema.openapi({ param: { name: "contact_id", in: "query" } }) });

export const ConsentHistoryQuerySchema = PaginationQuerySchema.extend({
  contact_id: IdSchema,
  purpose: z.string().regex(TOKEN).optional(),
});

export const ConsentStateSchema = z
  .object({ contact_id: IdSchema, data: z.array(ConsentSchema).openapi({ description: "The current consent per purpose: each purpose's latest record." }) })
  .openapi("ConsentState");

export const ConsentHistorySchema = listResponseSchema(ConsentSchema, "ConsentHistory");

// Retention -------------------------------------------------------------------------------------

/** Days kept, per kind of data: the bounds and the defaults (an organization without a policy has the defaults). */
export const RETENTION_BOUNDS = {
  events_days: { min: 30, max: 3650, default: 400 },
  webhook_deliveries_days: { min: 1, max: 365, default: 30 },
  audit_payloads_days: { min: 30, max: 3650, default: 400 },
} as const;

const days = (k: keyof typeof RETENTION_BOUNDS, what: string) =>
  z
    .number()
    .int()
    .min(RETENTION_BOUNDS[k].min)
    .max(RETENTION_BOUNDS[k].max)
    .openapi({
      description: `${what} (${RETENTION_BOUNDS[k].min} to ${RETENTION_BOUNDS[k].max}; default ${RETENTION_BOUNDS[k].default}).`,
      example: RETENTION_BOUNDS[k].default,
    });

export const RetentionPolicyInputSchema = z
  .strictObject({
    events_days: days("events_days", "Events, with their audit entries, are removed from the start of the chain once older than this"),
    webhook_deliveries_days: days(
      "webhook_deliveries_days",
      "Finished webhook deliveries (delivered, dead-lettered, cancelled) are deleted once older than this",
    ),
    audit_payloads_days: days("audit_payloads_days", "Audit entries' payloads (and their events') are redacted once older than this; the chain still verifies"),
  })
  .refine((p) => p.audit_payloads_days <= p.events_days, { message: "audit_payloads_days cannot exceed events_days", path: ["audit_payloads_days"] })
  .openapi("RetentionPolicyInput");

export const RetentionPolicySchema = z
  .object({
    events_days: z.number().int(),
    webhook_deliveries_days: z.number().int(),
    audit_payloads_days: z.number().int(),
    default: z.boolean().openapi({ description: "True: the organization has not set a policy; these are the platform's defaults." }),
    updated_by: z.string().nullable(),
    updated_at: TimestampSchema.nullable(),
  })
  .openapi("RetentionPolicy");

export const ArchiveQuerySchema = z.object({
  expires: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "expires", in: "query" }, example: 1796563200 }),
  signature: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .openapi({ param: { name: "signature", in: "query" }, description: "The link's HMAC-SHA256, base64url." }),
});
