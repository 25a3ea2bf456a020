import { z } from "@hono/zod-openapi";

/*
 * What generating a service's OpenAPI document needs (meta.ts), apart from openapi.ts, whose
 * Problem schema is built at its top level: a Worker's start-up imports this, and only its route
 * groups, built on first use, import openapi.ts.
 */

export const OPENAPI_VERSION = "3.1.0";

/** A trim of zod's (`z.string().trim()`): an overwrite check that takes blanks off both ends. */
function trims(check: unknown): boolean {
  const def = (check as { _zod?: { def?: { check?: string; tx?: (v: string) => unknown } } })?._zod?.def;
  if (def?.check !== "overwrite" || typeof def.tx !== "function") return false;
  try {
    return def.tx(" \t\n\u00a0a ") === "a";
  } catch {
    return false;
  }
}

/**
 * States in the OpenAPI document what zod's `.trim()` does before a `min(1)`: a string of blanks
 * only is refused, so such a string gets `pattern: "\S"` (a non-blank character; JavaScript's trim
 * and `\s` know the same blanks). Walks every zod schema the registry's definitions reach and sets
 * the pattern in zod's registry, which the generator reads; idempotent, so it may run before each
 * generation. A string with a pattern of its own keeps it.
 */
export function stateTrimmedStrings(definitions: readonly unknown[]): void {
  const seen = new Set<unknown>();
  const walk = (node: unknown, depth: number): void => {
    if (!node || typeof node !== "object" || seen.has(node) || depth > 40) return;
    seen.add(node);
    const zod = (node as { _zod?: { def?: Record<string, unknown> } })._zod;
    if (!zod?.def) {
      for (const v of Array.isArray(node) ? node : Object.values(node)) walk(v, depth + 1);
      return;
    }
    const def = zod.def;
    if (def.type === "string") {
      const s = node as z.ZodString;
      const checks = (def.checks as unknown[] | undefined) ?? [];
      const meta = z.globalRegistry.get(s) ?? {};
      const hasPattern =
        def.format !== undefined ||
        "pattern" in meta ||
        checks.some((c) => (c as { _zod?: { def?: { check?: string } } })?._zod?.def?.check === "string_format");
      if (!hasPattern && (s.minLength ?? 0) >= 1 && checks.some(trims)) z.globalRegistry.add(s, { ...meta, pattern: "\\S" });
      return;
    }
    for (const key of ["shape", "innerType", "in", "out", "element", "options", "valueType", "left", "right", "items"]) {
      const v = def[key];
      if (v && typeof v === "object") walk(v, depth + 1);
    }
  };
  walk(definitions, 0);
}
