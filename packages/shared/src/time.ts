import { z } from "@hono/zod-openapi";

/** RFC 3339 in UTC with milliseconds, e.g. 2026-11-25T12:00:00.000Z. */
export function nowIso(): string {
  return new Date().toISOString();
}

const utc = z.iso.datetime();
/** RFC 3339 in UTC (`Z`, no other offset), seconds required, any fraction: the pattern is the one zod checks. */
export const TimestampSchema = utc.openapi({ pattern: utc._zod.def.pattern?.source, example: "2026-11-25T12:00:00.000Z" });
