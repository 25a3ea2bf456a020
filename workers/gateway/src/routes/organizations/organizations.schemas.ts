import { z } from "@hono/zod-openapi";

export { OrganizationSchema } from "../auth/auth.schemas";

export const OrganizationUpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    settings: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "Replaces the whole settings object (it is not merged key by key)." }),
  })
  .strict()
  .refine((v) => v.name !== undefined || v.settings !== undefined, { message: "Send name, settings or both" })
  .openapi("OrganizationUpdate", { example: { name: "Analytical Engines Ltd", settings: { locale: "en-GB", week_starts_on: "monday" } } });
