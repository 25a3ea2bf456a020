import { z } from "@hono/zod-openapi";

/** RFC 3339 in UTC with milliseconds, e.g. 2026-11-25T12:00:00.000Z. */
export function nowIso(): string {
  return new Date().toISOString();
}

export const TimestampSchema = z.iso.datetime().openapi({ example: "2026-11-25T12:00:00.000Z" });
