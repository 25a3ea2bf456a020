import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema } from "@buildly/shared";

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
    count: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Erasure: join records removed, identity rows deleted, or audit entries redacted. Access: records in the archive." }),
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
