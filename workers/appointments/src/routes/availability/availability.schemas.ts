import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema } from "@buildly/shared";
import { InstantSchema } from "../appointments/appointments.schemas";
import { DAY } from "../../lib/zoned";

/** Widest window availability is computed for. */
export const MAX_AVAILABILITY_DAYS = 93;
/** Most scheduled appointments (a series counts once) a window may hold; more is a 422. */
export const MAX_AVAILABILITY_APPOINTMENTS = 5000;

export const AvailabilityQuerySchema = z
  .object({
    from: InstantSchema.openapi({
      param: { name: "from", in: "query" },
      description: "RFC 3339 date-time with offset; required, with `to`.",
      example: "2026-03-23T00:00:00Z",
    }),
    to: InstantSchema.openapi({
      param: { name: "to", in: "query" },
      description: `RFC 3339 date-time with offset; required, with \`from\`: after it, at most ${MAX_AVAILABILITY_DAYS} days later.`,
      example: "2026-04-04T00:00:00Z",
    }),
    duration_minutes: z.coerce
      .number()
      .int()
      .min(1)
      .max(1440)
      .default(30)
      .openapi({ param: { name: "duration_minutes", in: "query" }, description: "Only free slots at least this long.", example: 30 }),
  })
  .superRefine((q, ctx) => {
    if (!InstantSchema.safeParse(q.from).success || !InstantSchema.safeParse(q.to).success) return;
    const span = Date.parse(q.to) - Date.parse(q.from);
    if (span <= 0) ctx.addIssue({ code: "custom", path: ["to"], message: "to must be after from" });
    else if (span > MAX_AVAILABILITY_DAYS * DAY) {
      ctx.addIssue({ code: "custom", path: ["to"], message: `The window may span at most ${MAX_AVAILABILITY_DAYS} days` });
    }
  });

export const SlotSchema = z
  .object({
    start: TimestampSchema,
    end: TimestampSchema,
    local_start: z.string().openapi({ description: "The start on the calendar's wall clock, RFC 3339 with its offset.", example: "2026-03-30T09:00:00+01:00" }),
    local_end: z.string().openapi({ example: "2026-03-30T17:00:00+01:00" }),
  })
  .openapi("Slot");

export const AvailabilitySchema = z
  .object({
    calendar_id: IdSchema,
    time_zone: z.string(),
    from: TimestampSchema,
    to: TimestampSchema,
    duration_minutes: z.number().int(),
    slots: z.array(SlotSchema).openapi({
      description:
        "Maximal free intervals inside the working hours, at least duration_minutes long, in order. A meeting of that length can start anywhere from a slot's start to its end minus the duration.",
    }),
  })
  .openapi("Availability", {
    example: {
      calendar_id: "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01",
      time_zone: "Europe/London",
      from: "2026-03-30T00:00:00.000Z",
      to: "2026-03-31T00:00:00.000Z",
      duration_minutes: 30,
      slots: [
        {
          start: "2026-03-30T08:00:00.000Z",
          end: "2026-03-30T09:00:00.000Z",
          local_start: "2026-03-30T09:00:00+01:00",
          local_end: "2026-03-30T10:00:00+01:00",
        },
        {
          start: "2026-03-30T09:30:00.000Z",
          end: "2026-03-30T16:00:00.000Z",
          local_start: "2026-03-30T10:30:00+01:00",
          local_end: "2026-03-30T17:00:00+01:00",
        },
      ],
    },
  });
