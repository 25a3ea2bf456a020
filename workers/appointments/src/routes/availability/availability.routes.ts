import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, problemResponses, jsonContent } from "@buildly/shared";
import { AvailabilityQuerySchema, AvailabilitySchema } from "./availability.schemas";

export const getAvailability = createRoute({
  method: "get",
  path: "/calendars/{id}/availability",
  operationId: "getAvailability",
  summary: "Free slots inside the calendar's working hours",
  description:
    "Working hours are read on the calendar's wall clock (its IANA time zone), so they follow daylight-saving changes; " +
    "scheduled appointments (recurring ones expanded) are busy, cancelled and completed ones are not. " +
    "The window is at most 93 days and may hold at most 5000 scheduled appointments (else 422).",
  tags: ["Calendars"],
  request: { params: IdParamSchema, query: AvailabilityQuerySchema },
  responses: {
    200: jsonContent(AvailabilitySchema, "The free slots"),
    ...problemResponses(404, 422),
  },
});
