import { z } from "@hono/zod-openapi";
import { IdSchema, TimestampSchema, listResponseSchema } from "@buildly/shared";
import { isTimeZone } from "../../lib/zoned";

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM, 24-hour");

const Interval = z
  .object({ start: HHMM, end: HHMM })
  .refine((i) => !HHMM.safeParse(i.start).success || !HHMM.safeParse(i.end).success || i.start < i.end, {
    message: "start must be before end",
  })
  .openapi({ description: "24-hour HH:MM on the calendar's wall clock; start before end." });

const DayHours = z.array(Interval).max(8);

export const WorkingHoursSchema = z
  .object({ mon: DayHours, tue: DayHours, wed: DayHours, thu: DayHours, fri: DayHours, sat: DayHours, sun: DayHours })
  .openapi("WorkingHours", {
    example: {
      mon: [{ start: "09:00", end: "17:00" }],
      tue: [{ start: "09:00", end: "17:00" }],
      wed: [{ start: "09:00", end: "17:00" }],
      thu: [{ start: "09:00", end: "17:00" }],
      fri: [{ start: "09:00", end: "13:00" }],
      sat: [],
      sun: [],
    },
  });

export const TimeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isTimeZone, { message: "Not an IANA time zone" })
  .openapi({ description: "An IANA time zone name (UTC offsets such as +01:00 are refused).", example: "Europe/London" });

export const CalendarSchema = z
  .object({
    id: IdSchema,
    name: z.string().openapi({ example: "Front desk" }),
    time_zone: z.string().openapi({ example: "Europe/London" }),
    working_hours: WorkingHoursSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Calendar");

export const CalendarCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    time_zone: TimeZoneSchema,
    working_hours: WorkingHoursSchema.optional(),
  })
  .strict()
  .openapi("CalendarCreate", { example: { name: "Front desk", time_zone: "Europe/London" } });

export const CalendarUpdateSchema = CalendarCreateSchema.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "Give at least one field to change." })
  .openapi("CalendarUpdate", { description: "At least one field to change.", minProperties: 1, example: { name: "Reception" } });
export type CalendarUpdate = z.infer<typeof CalendarUpdateSchema>;

export const CalendarListSchema = listResponseSchema(CalendarSchema, "CalendarList");

export const DEFAULT_WORKING_HOURS = {
  mon: [{ start: "09:00", end: "17:00" }],
  tue: [{ start: "09:00", end: "17:00" }],
  wed: [{ start: "09:00", end: "17:00" }],
  thu: [{ start: "09:00", end: "17:00" }],
  fri: [{ start: "09:00", end: "17:00" }],
  sat: [],
  sun: [],
};
