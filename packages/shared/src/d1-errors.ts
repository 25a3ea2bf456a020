/** D1 names the constraint that broke only in the error's message (or its cause's). */
function d1ErrorText(err: unknown): string {
  return err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? "")}` : String(err);
}

export function isUniqueViolation(err: unknown): boolean {
  return d1ErrorText(err).includes("UNIQUE constraint failed");
}

export function isForeignKeyViolation(err: unknown): boolean {
  return d1ErrorText(err).includes("FOREIGN KEY constraint failed");
}

export function isCheckViolation(err: unknown, name: string): boolean {
  return d1ErrorText(err).includes(`CHECK constraint failed: ${name}`);
}
