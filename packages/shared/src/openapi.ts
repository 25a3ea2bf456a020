import { z } from "@hono/zod-openapi";
import { PROBLEM_CONTENT_TYPE, problemTitle, problemType } from "./errors";

// What the document's route needs, in a module that builds no schema (meta.ts imports it at start-up).
export { OPENAPI_VERSION, stateTrimmedStrings } from "./openapi-document";

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

/** A JSON response entry of a route definition (hono-open-api-starter's jsonContent). */
export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body of a route definition (hono-open-api-starter's jsonContentRequired). */
export function jsonContentRequired<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true as const, ...(description === undefined ? {} : { description }), content: { "application/json": { schema } } };
}
