import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export function db(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** D1 reports a broken UNIQUE index in the message only. */
export function isUniqueViolation(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? "")}` : String(err);
  return text.includes("UNIQUE constraint failed");
}
