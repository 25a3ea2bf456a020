/**
 * The values a field path names in a record: `company_id` is one value, `attendees[].contact_id`
 * one per element of `attendees`. Only strings count (ids); nulls and missing fields give none.
 */
export function valuesAt(record: unknown, path: string): string[] {
  let current: unknown[] = [record];
  for (const part of path.split(".")) {
    const list = part.endsWith("[]");
    const name = list ? part.slice(0, -2) : part;
    const next: unknown[] = [];
    for (const value of current) {
      if (!value || typeof value !== "object" || Array.isArray(value)) continue;
      const inner = (value as Record<string, unknown>)[name];
      if (list) {
        if (Array.isArray(inner)) next.push(...inner);
      } else if (inner !== undefined) next.push(inner);
    }
    current = next;
  }
  return [...new Set(current.filter((v): v is string => typeof v === "string"))];
}

/** A field path with no list step, such as `company_id`: the only kind a joined write can set. */
export function isPlainField(path: string): boolean {
  return !path.includes("[]") && !path.includes(".");
}
