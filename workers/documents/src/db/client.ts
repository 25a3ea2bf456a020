import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export function db(d1: D1Database) {
  return drizzle(d1, { schema });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? "")}` : String(err);
}

/** D1 reports a broken UNIQUE index in the message only. */
export function isUniqueViolation(err: unknown): boolean {
  return messageOf(err).includes("UNIQUE constraint failed");
}

/** A row pointed at a folder that is not there (any more), or a folder still had children. */
export function isForeignKeyViolation(err: unknown): boolean {
  return messageOf(err).includes("FOREIGN KEY constraint failed");
}
