import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, TimestampSchema, listResponseSchema, sortQuerySchema } from "@buildly/shared";
import { PATCH_BODY, atLeastOneField } from "../../lib/fields";

export const StageIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "Stage ids are 1..64 lower-case letters, digits, - or _")
  .openapi({ example: "qualified" });

const StageSchema = z.object({ id: StageIdSchema, name: z.string() }).openapi("Stage", { example: { id: "qualified", name: "Qualified" } });

const StageInputSchema = z
  .object({
    id: StageIdSchema.optional().openapi({ description: "Keep a stage's id to keep its deals; omit it for a new stage (an id is generated)." }),
    name: z.string().trim().min(1).max(100),
  })
  .strict();

const StagesInputSchema = z
  .array(StageInputSchema)
  .min(1)
  .max(30)
  .superRefine((stages, ctx) => {
    const seen = new Set<string>();
    stages.forEach((s, i) => {
      if (s.id === undefined) return;
      if (seen.has(s.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: "Stage ids must be unique within a pipeline" });
      seen.add(s.id);
    });
  })
  .openapi({
    description: "The ordered stages, all of them (1..30, ids unique within the pipeline): a write replaces the list (reorder, rename, add, remove).",
  });

const example = {
  id: "5ce69a22-6b10-57d8-912d-61145853291f",
  name: "Sales",
  is_default: true,
  stages: [
    { id: "lead", name: "Lead" },
    { id: "qualified", name: "Qualified" },
    { id: "proposal", name: "Proposal" },
    { id: "won", name: "Won" },
    { id: "lost", name: "Lost" },
  ],
  created_at: "2026-01-05T09:00:00.000Z",
  updated_at: "2026-01-05T09:00:00.000Z",
};

export const PipelineSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    is_default: z.boolean().openapi({ description: "The pipeline the CRM gave the organization; deals land here when no pipeline_id is given." }),
    stages: z.array(StageSchema),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Pipeline", { example });

export const PipelineCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    stages: StagesInputSchema,
  })
  .strict()
  .openapi("PipelineCreate", {
    example: { name: "Partnerships", stages: [{ id: "intro", name: "Intro" }, { name: "Pilot" }, { id: "signed", name: "Signed" }] },
  });

export const PipelineUpdateSchema = PipelineCreateSchema.partial()
  .strict()
  .refine(atLeastOneField, { message: "Give at least one field to change." })
  .openapi("PipelineUpdate", {
    ...PATCH_BODY,
    example: {
      stages: [
        { id: "lead", name: "Lead" },
        { id: "proposal", name: "Proposal" },
        { id: "qualified", name: "Qualified" },
        { id: "won", name: "Won" },
        { id: "lost", name: "Lost" },
      ],
    },
  });

export const PIPELINE_SORT_FIELDS = ["created_at", "updated_at", "name"] as const;

export const PipelineListQuerySchema = PaginationQuerySchema.extend({
  sort: sortQuerySchema(PIPELINE_SORT_FIELDS, "created_at"),
});

export const PipelineListSchema = listResponseSchema(PipelineSchema, "PipelineList").openapi({ example: { data: [example], next_cursor: null } });
