import { z } from "@hono/zod-openapi";
import { PROBLEM_CONTENT_TYPE, problemTitle, problemType } from "./errors";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: problemType(404) }),
    title: z.string().openapi({ example: problemTitle(404) }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: "No contact has this id." }),
    request_id: z.string().openapi({ example: "0d6f5d8e-3c1b-4d4e-9a0f-1c2b3d4e5f60" }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "For 422: one entry per field that failed validation." }),
  })
  .openapi("Problem");

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request (for example invalid JSON)",
  401: "Missing or invalid credentials",
  403: "Not allowed for this identity",
  404: "Not found (or not visible to this organization)",
  405: "Method not allowed on this path",
  409: "Conflicts with the current state",
  411: "Content-Length is required",
  413: "Body larger than this route accepts",
  415: "Unsupported Content-Type",
  422: "Validation failed",
  429: "Too many requests",
  502: "An upstream service failed",
  503: "Unavailable",
  504: "An upstream service did not answer in time",
};

/** OpenAPI response entries for the given error statuses, all problem+json. */
export function problemResponses<S extends number>(...statuses: S[]) {
  const out = {} as Record<S, { description: string; content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof ProblemSchema } } }>;
  for (const s of statuses) {
    out[s] = { description: DESCRIPTIONS[s] ?? problemTitle(s), content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
  }
  return out;
}

export const OPENAPI_VERSION = "3.1.0";

/** A JSON response entry of a route definition (hono-open-api-starter's jsonContent). */
export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body of a route definition (hono-open-api-starter's jsonContentRequired). */
export function jsonContentRequired<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true as const, ...(description === undefined ? {} : { description }), content: { "application/json": { schema } } };
}

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
