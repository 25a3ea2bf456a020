import { z } from "@hono/zod-openapi";
import { IdSchema, PaginationQuerySchema, ProblemSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { APPOINTMENT_STATUSES } from "../../db/schema";
import { parseRule } from "../../lib/rrule";
import { DAY } from "../../lib/zoned";

/** Longest single occurrence. */
export const MAX_DURATION_MS = 31 * DAY;
/** Widest window GET /appointments expands. */
export const MAX_WINDOW_DAYS = 366;
/** Most appointments (a series counts once) a window may hold; more is a 422 asking to narrow it. */
export const MAX_WINDOW_APPOINTMENTS = 5000;

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

const withOffset = z.iso.datetime({ offset: true, message: "Use an RFC 3339 timestamp with an offset, e.g. 2026-03-30T09:00:00+01:00" });

/** An RFC 3339 timestamp that says its offset (Z or ±hh:mm): a bare local time is ambiguous. */
export const InstantSchema = z
  .string()
  .pipe(withOffset)
  .refine(
    (v) => {
      const ms = Date.parse(v);
      return !(ms < EARLIEST || ms >= LATEST);
    },
    { message: "Must be between 1970 and 2199" },
  )
  .openapi({
    type: "string",
    format: "date-time",
    // zod's own pattern (seconds required, hours of the offset 00 to 23), limited to the years 1970 to 2199.
    pattern: `^(?=(?:19[7-9]\\d|2[01]\\d\\d)-)${withOffset._zod.def.pattern?.source.slice(1)}`,
    description: "An RFC 3339 date-time that states its offset (Z or ±hh:mm), in the years 1970 to 2199.",
    example: "2026-03-30T09:00:00+01:00",
  });

function valid(schema: z.ZodType, value: unknown): boolean {
  return schema.safeParse(value).success;
}

export const StatusSchema = z.enum(APPOINTMENT_STATUSES).openapi({ example: "scheduled" });

export const AttendeeInputSchema = z
  .object({
    contact_id: IdSchema.nullable().optional().openapi({
      description:
        "A CRM contact id. Through the gateway, a write naming a contact that does not exist in your organization is refused with 422 (the data mesh checks it with the CRM).",
      example: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
    }),
    email: z.email().max(254).openapi({ example: "ada@analytical.example" }),
    name: z.string().trim().min(1).max(200).openapi({ example: "Ada Lovelace" }),
  })
  .strict();

export const AttendeeSchema = z
  .object({ contact_id: IdSchema.nullable(), email: z.string(), name: z.string() })
  .openapi("Attendee", { example: { contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", email: "ada@analytical.example", name: "Ada Lovelace" } });

const AttendeesSchema = z
  .array(AttendeeInputSchema)
  .max(100)
  .openapi({ description: "At most 100; each email at most once (compared case-insensitively)." })
  .refine(
    (list) => {
      const emails = list.map((a) => (typeof a?.email === "string" ? a.email.toLowerCase() : a?.email));
      return new Set(emails).size === emails.length;
    },
    { message: "Each attendee's email may appear only once" },
  );

const RecurrenceSchema = z
  .string()
  .max(2000)
  .superRefine((text, ctx) => {
    const parsed = parseRule(text);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.message });
  })
  .nullable()
  .openapi({
    description:
      "An RFC 5545 RRULE value: FREQ=DAILY|WEEKLY|MONTHLY|YEARLY with INTERVAL, COUNT or UNTIL, BYMONTH, BYMONTHDAY, BYDAY " +
      "(ordinals such as 2TU or -1FR with MONTHLY and YEARLY) and BYSETPOS (with MONTHLY and YEARLY); no RRULE: prefix. " +
      "Optionally followed by lines EXDATE:<value>[,<value>...] (at most 100 values), each a date such as 20260424 (the occurrence on that day of the calendar's wall clock) " +
      "or a UTC date-time such as 20260424T080000Z (the occurrence starting then); each must name an occurrence after the first. " +
      "Expanded in the calendar's time zone; the start must be an occurrence, and occurrences may not overlap one another. " +
      "Series are expanded at most two years past their start; a calendar holds at most 200 of them.",
    example: "FREQ=MONTHLY;BYDAY=-1FR\nEXDATE:20260424",
  });

const LocationSchema = z
  .string()
  .trim()
  .max(500)
  .nullable()
  .transform((v) => (v === "" ? null : v))
  .openapi({ example: "Room 4, 10 Downing St" });

const fields = {
  calendar_id: IdSchema.openapi({ description: "A calendar of the caller's organization (another id is a 422)." }),
  title: z.string().trim().min(1).max(200).openapi({ example: "Quarterly review" }),
  start: InstantSchema,
  end: InstantSchema.openapi({
    description: "After start, and at most 31 days later (the first occurrence; later ones keep its duration).",
    example: "2026-03-30T10:00:00+01:00",
  }),
  attendees: AttendeesSchema,
  location: LocationSchema,
  status: StatusSchema,
  recurrence: RecurrenceSchema,
  allow_overlap: z
    .boolean()
    .openapi({ description: "Write even if the appointment overlaps a scheduled one in the same calendar (otherwise 409).", example: false }),
};

/** end after start and not more than MAX_DURATION_MS later, when both are well-formed. */
export function timesProblem(start: unknown, end: unknown): string | null {
  if (!valid(InstantSchema, start) || !valid(InstantSchema, end)) return null;
  const duration = Date.parse(end as string) - Date.parse(start as string);
  if (duration <= 0) return "end must be after start";
  if (duration > MAX_DURATION_MS) return "An appointment may last at most 31 days";
  return null;
}

export const AppointmentCreateSchema = z
  .object({
    ...fields,
    attendees: fields.attendees.optional(),
    location: fields.location.optional(),
    status: fields.status.optional(),
    recurrence: fields.recurrence.optional(),
    allow_overlap: fields.allow_overlap.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const problem = timesProblem(v.start, v.end);
    if (problem) ctx.addIssue({ code: "custom", path: ["end"], message: problem });
  })
  .openapi("AppointmentCreate", {
    example: {
      calendar_id: "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01",
      title: "Weekly pipeline review",
      start: "2026-03-02T09:00:00Z",
      end: "2026-03-02T09:30:00Z",
      attendees: [{ contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", email: "ada@analytical.example", name: "Ada Lovelace" }],
      location: "Meeting room 1",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    },
  });
export type AppointmentCreate = z.infer<typeof AppointmentCreateSchema>;

export const AppointmentUpdateSchema = z
  .object({
    calendar_id: fields.calendar_id.optional(),
    title: fields.title.optional(),
    start: fields.start.optional(),
    end: fields.end.optional(),
    attendees: fields.attendees.optional(),
    location: fields.location.optional(),
    status: fields.status.optional(),
    recurrence: fields.recurrence.optional(),
    allow_overlap: fields.allow_overlap.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (Object.keys(v).filter((k) => k !== "allow_overlap").length === 0) {
      ctx.addIssue({ code: "custom", path: [], message: "Give at least one field to change." });
    }
    if (v.start !== undefined && v.end !== undefined) {
      const problem = timesProblem(v.start, v.end);
      if (problem) ctx.addIssue({ code: "custom", path: ["end"], message: problem });
    }
  })
  .openapi("AppointmentUpdate", {
    description: "At least one field to change besides allow_overlap. Given together, end is after start and at most 31 days later.",
    minProperties: 1,
    not: { required: ["allow_overlap"], maxProperties: 1 },
    example: { start: "2026-03-02T10:00:00Z", end: "2026-03-02T10:30:00Z" },
  });
export type AppointmentUpdate = z.infer<typeof AppointmentUpdateSchema>;

export const AppointmentSchema = z
  .object({
    id: IdSchema,
    calendar_id: IdSchema,
    title: z.string(),
    start: TimestampSchema.openapi({ description: "The first start, RFC 3339 in UTC." }),
    end: TimestampSchema.openapi({ description: "The first end, RFC 3339 in UTC." }),
    attendees: z.array(AttendeeSchema),
    location: z.string().nullable(),
    status: StatusSchema,
    recurrence: z.string().nullable().openapi({
      description: "The canonical recurrence (RRULE value, then one EXDATE line with its values sorted when there are any), or null for a one-off.",
    }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Appointment", {
    example: {
      id: "b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01",
      calendar_id: "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01",
      title: "Weekly pipeline review",
      start: "2026-03-02T09:00:00.000Z",
      end: "2026-03-02T09:30:00.000Z",
      attendees: [{ contact_id: "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01", email: "ada@analytical.example", name: "Ada Lovelace" }],
      location: "Meeting room 1",
      status: "scheduled",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
      created_at: "2026-02-20T10:00:00.000Z",
      updated_at: "2026-02-20T10:00:00.000Z",
    },
  });

export const OccurrenceSchema = z
  .object({
    appointment_id: IdSchema,
    calendar_id: IdSchema,
    title: z.string(),
    start: TimestampSchema.openapi({ description: "This occurrence's start, RFC 3339 in UTC." }),
    end: TimestampSchema.openapi({ description: "This occurrence's end, RFC 3339 in UTC." }),
    attendees: z.array(AttendeeSchema),
    location: z.string().nullable(),
    status: StatusSchema,
    recurrence: z.string().nullable(),
  })
  .openapi("Occurrence", {
    example: {
      appointment_id: "b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01",
      calendar_id: "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01",
      title: "Weekly pipeline review",
      start: "2026-04-06T08:00:00.000Z",
      end: "2026-04-06T08:30:00.000Z",
      attendees: [],
      location: "Meeting room 1",
      status: "scheduled",
      recurrence: "FREQ=WEEKLY;BYDAY=MO",
    },
  });

export const AppointmentListSchema = listResponseSchema(AppointmentSchema, "AppointmentList");
export const OccurrenceListSchema = listResponseSchema(OccurrenceSchema, "OccurrenceList");

export const AppointmentListQuerySchema = PaginationQuerySchema.extend({
  calendar_id: IdSchema.optional().openapi({ param: { name: "calendar_id", in: "query" }, description: "Only this calendar's appointments." }),
  status: StatusSchema.optional().openapi({ param: { name: "status", in: "query" } }),
  from: InstantSchema.optional().openapi({
    param: { name: "from", in: "query" },
    description:
      "RFC 3339 date-time with offset. Required together with `to` (one without the other is a 422): list the occurrences in [from, to) " +
      `instead of the appointments; at most ${MAX_WINDOW_DAYS} days and ${MAX_WINDOW_APPOINTMENTS} appointments.`,
  }),
  to: InstantSchema.optional().openapi({
    param: { name: "to", in: "query" },
    description: "RFC 3339 date-time with offset, after `from`. Required together with `from`.",
    example: "2026-04-30T00:00:00Z",
  }),
}).superRefine((q, ctx) => {
  if ((q.from === undefined) !== (q.to === undefined)) {
    ctx.addIssue({ code: "custom", path: [q.from === undefined ? "from" : "to"], message: "Give from and to together" });
    return;
  }
  if (q.from === undefined || !valid(InstantSchema, q.from) || !valid(InstantSchema, q.to)) return;
  const span = Date.parse(q.to!) - Date.parse(q.from);
  if (span <= 0) ctx.addIssue({ code: "custom", path: ["to"], message: "to must be after from" });
  else if (span > MAX_WINDOW_DAYS * DAY) ctx.addIssue({ code: "custom", path: ["to"], message: `The window may span at most ${MAX_WINDOW_DAYS} days` });
});

export const ConflictSchema = z
  .object({
    appointment_id: IdSchema,
    title: z.string(),
    occurrence_start: TimestampSchema,
    occurrence_end: TimestampSchema,
    requested_start: TimestampSchema.openapi({ description: "The start of the written appointment's occurrence that overlaps it." }),
    requested_end: TimestampSchema,
  })
  .openapi("Conflict");

export const ConflictProblemSchema = ProblemSchema.extend({
  conflicts: z.array(ConflictSchema).openapi({ description: "The overlapping scheduled appointments (first overlap of each, at most 10)." }),
}).openapi("ConflictProblem", {
  example: {
    type: "https://buildly.dev/problems/conflict",
    title: "Conflict",
    status: 409,
    detail:
      'The appointment overlaps the scheduled appointment b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01 ("Weekly pipeline review") at 2026-03-30T08:30:00.000Z. Move it, or send allow_overlap: true to keep both.',
    request_id: "0d6f5d8e-3c1b-4d4e-9a0f-1c2b3d4e5f60",
    conflicts: [
      {
        appointment_id: "b7e2c9d4-1a3f-4e5b-8c6d-7e8f9a0b1c01",
        title: "Weekly pipeline review",
        occurrence_start: "2026-03-30T08:30:00.000Z",
        occurrence_end: "2026-03-30T09:00:00.000Z",
        requested_start: "2026-03-30T08:45:00.000Z",
        requested_end: "2026-03-30T09:15:00.000Z",
      },
    ],
  },
});
