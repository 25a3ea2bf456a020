import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { JSON_BOUNDS, withinJsonBounds } from "./json-bounds";

/** Keys of states and transitions: what clients send and what the history records. */
export const KeySchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "1 to 64 letters, digits, _ or -, starting with a letter")
  .openapi({ example: "in_review" });

/** A JSON object of free-form values (instance data, action bodies). */
const ObjectSchema = z.record(z.string(), z.unknown());
/** The same, as accepted from a client: within JSON_BOUNDS (depth, keys, items, string length). */
const BoundedObjectSchema = ObjectSchema.superRefine(withinJsonBounds);
const BOUNDS_NOTE = ` At most ${JSON_BOUNDS.max_depth} levels of nested objects and arrays, ${JSON_BOUNDS.max_keys} keys per object, ${JSON_BOUNDS.max_items} items per array, ${JSON_BOUNDS.max_string} characters per string (422 otherwise).`;

const ServiceNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/)
  .openapi({ example: "documents" });
const ModelNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/)
  .openapi({ example: "files" });

export const StateSchema = z
  .object({
    key: KeySchema,
    name: z.string().trim().min(1).max(200),
    terminal: z.boolean().default(false).openapi({ description: "The workflow ends here; no transition may leave it." }),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86400)
      .optional()
      .openapi({ description: "After this long in the state, the instance takes `on_timeout` by itself (a Durable Object alarm)." }),
    on_timeout: KeySchema.optional().openapi({ description: "The transition taken when the state times out; it must leave this state." }),
    wait_for_children: z
      .boolean()
      .optional()
      .openapi({ description: "Once every child instance has reached a terminal state, the instance moves on by itself." }),
    on_children_done: KeySchema.optional().openapi({
      description: "The transition taken when the children are done; may be left out when exactly one transition leaves the state.",
    }),
  })
  .strict()
  .openapi("WorkflowState");

export const ACTION_TYPES = ["create", "update", "start_workflow"] as const;

export const ServiceActionSchema = z
  .object({
    type: z.enum(["create", "update"]).openapi({ description: "create: POST to the model's collection; update: PATCH one record." }),
    service: ServiceNameSchema,
    model: ModelNameSchema,
    id: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: 'The record to update (update only), usually "{{subject.id}}".', example: "{{subject.id}}" }),
    body: BoundedObjectSchema.default({}).openapi({
      description:
        "The JSON body sent to the service. Strings may hold placeholders: {{instance.id}}, {{instance.version}}, {{subject.id}}, {{subject.service}}, {{subject.model}}, {{data.<field>}}, {{actor.id}}. A string that is only a placeholder keeps the value's JSON type." +
        BOUNDS_NOTE,
      example: { tags: ["approved"] },
    }),
  })
  .strict()
  .openapi("WorkflowServiceAction");

export const StartWorkflowActionSchema = z
  .object({
    type: z.literal("start_workflow"),
    template_id: IdSchema.openapi({ description: "The child's template (its latest version when the action runs)." }),
    data: BoundedObjectSchema.default({}).openapi({ description: `The child's data; placeholders as in a service action's body.${BOUNDS_NOTE}` }),
  })
  .strict()
  .openapi("WorkflowStartAction");

export const ActionSchema = z.discriminatedUnion("type", [ServiceActionSchema, StartWorkflowActionSchema]).openapi("WorkflowAction");

export const TransitionSchema = z
  .object({
    key: KeySchema,
    name: z.string().trim().min(1).max(200),
    from: z.array(KeySchema).min(1).max(50).openapi({ description: "The states this transition may leave." }),
    to: KeySchema,
    roles: z
      .array(z.string().min(1).max(40))
      .max(20)
      .optional()
      .openapi({ description: "Only callers holding one of these roles may take it. Without roles: callers with `update` on workflows." }),
    system_only: z.boolean().optional().openapi({
      description:
        "Taken only by the instance itself: a state's `on_timeout` or its `on_children_done` must name it. A caller who asks for it gets 403, and it is never in `available_transitions`.",
    }),
    actions: z
      .array(ActionSchema)
      .max(5)
      .optional()
      .openapi({ description: "Run in order before the transition commits; if one fails the transition fails and the state is unchanged." }),
  })
  .strict()
  .openapi("WorkflowTransition");

// One field list for the input and the stored template; the input alone is strict. (Extending
// the registered, strict input would document the template as allOf [input, ...], which no
// stored template can satisfy.)
const templateFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  initial_state: KeySchema,
  states: z.array(StateSchema).min(1).max(50),
  transitions: z.array(TransitionSchema).max(100),
};

export const TemplateInputSchema = z
  .object(templateFields)
  .strict()
  .openapi("WorkflowTemplateInput", {
    example: {
      name: "Document approval",
      initial_state: "draft",
      states: [
        { key: "draft", name: "Draft", terminal: false },
        { key: "in_review", name: "In review", terminal: false, timeout_seconds: 604800, on_timeout: "expire" },
        { key: "approved", name: "Approved", terminal: true },
        { key: "expired", name: "Expired", terminal: true },
      ],
      transitions: [
        { key: "submit", name: "Submit for review", from: ["draft"], to: "in_review" },
        {
          key: "approve",
          name: "Approve",
          from: ["in_review"],
          to: "approved",
          roles: ["admin"],
          actions: [{ type: "update", service: "documents", model: "files", id: "{{subject.id}}", body: { tags: ["approved"] } }],
        },
        { key: "expire", name: "Expire", from: ["in_review"], to: "expired", system_only: true },
      ],
    },
  });

export type TemplateInput = z.infer<typeof TemplateInputSchema>;
export type StateDef = z.infer<typeof StateSchema>;
export type TransitionDef = z.infer<typeof TransitionSchema>;
export type ActionDef = z.infer<typeof ActionSchema>;
export type ServiceActionDef = z.infer<typeof ServiceActionSchema>;

export const TemplateSchema = z
  .object({
    ...templateFields,
    id: IdSchema,
    version: z.number().int().min(1).openapi({ description: "Every change makes a new version; instances keep the one they started with." }),
    description: z.string().nullable(),
    created_by: z.string().nullable(),
    created_at: TimestampSchema.openapi({ description: "When this version was made." }),
  })
  .openapi("WorkflowTemplate");
export type Template = z.infer<typeof TemplateSchema>;

export const TemplateListSchema = listResponseSchema(TemplateSchema, "WorkflowTemplateList");

export const TemplateQuerySchema = z.object({
  version: z.coerce.number().int().min(1).optional().openapi({ description: "A given version; the latest by default." }),
});

export const SubjectSchema = z
  .object({ service: ServiceNameSchema, model: ModelNameSchema, id: IdSchema })
  .strict()
  .openapi("WorkflowSubject", { description: "A record of any service the instance is about; checked with the service's own read." });
export type Subject = z.infer<typeof SubjectSchema>;

export const InstanceCreateSchema = z
  .object({
    template_id: IdSchema,
    // null as the document's (nullable) WorkflowSubject allows: no subject, as when it is left out.
    subject: SubjectSchema.nullable().optional(),
    data: BoundedObjectSchema.optional().openapi({ description: `The instance's data.${BOUNDS_NOTE}` }),
  })
  .strict()
  .openapi("WorkflowInstanceCreate", {
    example: {
      template_id: "7e0f1a00-0000-4000-8000-000000000001",
      subject: { service: "documents", model: "files", id: "d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01" },
      data: { note: "Please check the figures on page 2" },
    },
  });
export type InstanceCreate = z.infer<typeof InstanceCreateSchema>;

export const ActorSchema = z
  .object({
    type: z.enum(["user", "client", "system"]).openapi({ description: "system: a timeout or the children finishing moved the instance." }),
    id: z.string().nullable(),
  })
  .openapi("WorkflowActor");
export type Actor = z.infer<typeof ActorSchema>;

export const ChildSchema = z
  .object({ id: IdSchema, template_id: IdSchema, state: z.string(), terminal: z.boolean(), version: z.number().int() })
  .openapi("WorkflowChild");
export type Child = z.infer<typeof ChildSchema>;

export const AvailableTransitionSchema = z.object({ key: z.string(), name: z.string(), to: z.string() }).openapi("WorkflowAvailableTransition");

export const InstanceSchema = z
  .object({
    id: IdSchema,
    template_id: IdSchema,
    template_version: z.number().int(),
    state: z.string().openapi({ example: "in_review" }),
    terminal: z.boolean(),
    version: z.number().int().openapi({ description: "1 at creation, one more for every transition taken." }),
    data: ObjectSchema,
    subject: SubjectSchema.nullable(),
    parent_id: IdSchema.nullable(),
    children: z.array(ChildSchema).openapi({ description: "Instances started by this one's actions (process trees), with their last known state." }),
    timeout_at: TimestampSchema.nullable().openapi({ description: "When the current state times out, if it has a timeout." }),
    created_by: ActorSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    available_transitions: z
      .array(AvailableTransitionSchema)
      .optional()
      .openapi({ description: "The transitions the caller may take now (on reads and on a transition's answer)." }),
  })
  .openapi("WorkflowInstance");
export type InstanceView = z.infer<typeof InstanceSchema>;

/** A row of the instance index in D1 (what lists show): no data, no children. */
export const InstanceSummarySchema = z
  .object({
    id: IdSchema,
    template_id: IdSchema,
    template_version: z.number().int(),
    state: z.string(),
    terminal: z.boolean(),
    version: z.number().int(),
    subject: SubjectSchema.nullable(),
    parent_id: IdSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("WorkflowInstanceSummary");
export type InstanceSummary = z.infer<typeof InstanceSummarySchema>;

export const InstanceListSchema = listResponseSchema(InstanceSummarySchema, "WorkflowInstanceList");

export const InstanceListQuerySchema = PaginationQuerySchema.extend({
  template_id: IdSchema.optional(),
  state: KeySchema.optional(),
  subject_service: ServiceNameSchema.optional(),
  subject_id: IdSchema.optional(),
});

export const TransitionRequestSchema = z
  .object({
    transition: KeySchema.openapi({ example: "approve" }),
    expected_version: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: "Take the transition only if the instance is still at this version (409 otherwise)." }),
    data: BoundedObjectSchema.optional().openapi({
      description: `Merged into the instance's data (top-level keys replaced) and kept in the history.${BOUNDS_NOTE}`,
    }),
  })
  .strict()
  .openapi("WorkflowTransitionRequest", { example: { transition: "approve", expected_version: 2, data: { comment: "Looks good" } } });
export type TransitionRequest = z.infer<typeof TransitionRequestSchema>;

export const ActionOutcomeSchema = z
  .object({
    type: z.enum(ACTION_TYPES),
    service: z.string().nullable(),
    model: z.string().nullable(),
    status: z.number().int().nullable(),
    id: z.string().nullable().openapi({ description: "The record created or updated, or the child instance started." }),
    replayed: z.boolean().openapi({ description: "The call had already run with this idempotency key; its stored answer was used." }),
  })
  .openapi("WorkflowActionOutcome");
export type ActionOutcome = z.infer<typeof ActionOutcomeSchema>;

export const HistoryEntrySchema = z
  .object({
    version: z.number().int().openapi({ description: "The instance's version after this entry; 1 is the creation." }),
    transition: z.string().nullable().openapi({ description: "null for the creation." }),
    from: z.string().nullable(),
    to: z.string(),
    actor: ActorSchema,
    time: TimestampSchema,
    request_id: z.string().nullable(),
    data: ObjectSchema,
    actions: z.array(ActionOutcomeSchema),
  })
  .openapi("WorkflowHistoryEntry");
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const HistoryListSchema = listResponseSchema(HistoryEntrySchema, "WorkflowHistory");

/** Who is looking at an instance, to compute the transitions they may take now (not part of the API). */
export interface Viewer {
  roles: string[];
  can_update: boolean;
}
