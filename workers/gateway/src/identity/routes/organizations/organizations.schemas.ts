import { z } from "@hono/zod-openapi";
import { OrganizationLimitsSchema } from "../../../limits/policies";

export { OrganizationSchema } from "../auth/auth.schemas";

export const OrganizationUpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    settings: z.record(z.string(), z.unknown()).optional().openapi({ description: "Replaces the whole settings object (it is not merged key by key)." }),
    rate_limits: OrganizationLimitsSchema.optional().openapi({
      description:
        "This organization's own limits per user, API client and in total, within the platform's maximums. Omitted scopes keep the platform default.",
      example: { user: { limit: 300, window_seconds: 60 } },
    }),
  })
  .strict()
  .refine((v) => v.name !== undefined || v.settings !== undefined || v.rate_limits !== undefined, { message: "Send name, settings or rate_limits" })
  .openapi("OrganizationUpdate", { minProperties: 1, example: { name: "Analytical Engines Ltd", settings: { locale: "en-GB", week_starts_on: "monday" } } });
