import type { z } from "@hono/zod-openapi";

/**
 * The shape limits of free-form JSON a workflow keeps (action bodies and child data in templates,
 * instance data, a transition's data). Every value crosses RPC to the instance's Durable Object
 * and is walked by `fill`, so a 40,000-deep array once stored fine and then failed every
 * instance with "Maximum call stack size exceeded". Checked at the boundary, without recursion.
 */
export const JSON_BOUNDS = {
  /** Objects and arrays inside one another, the outer object counting as 1. */
  max_depth: 16,
  /** Keys of one object. */
  max_keys: 200,
  /** Items of one array. */
  max_items: 1000,
  /** Characters of one string (a key or a value). */
  max_string: 16 * 1024,
} as const;

export interface BoundsProblem {
  path: (string | number)[];
  message: string;
}

/** The first limit the value breaks, with the path to the part at fault, or undefined. */
export function jsonBoundsProblem(value: unknown, b = JSON_BOUNDS): BoundsProblem | undefined {
  const stack: { v: unknown; path: (string | number)[]; depth: number }[] = [{ v: value, path: [], depth: 1 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === "string") {
      if (v.length > b.max_string) return { path, message: `Strings may hold at most ${b.max_string} characters` };
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (depth > b.max_depth) return { path, message: `Nested deeper than ${b.max_depth} levels of objects and arrays` };
    if (Array.isArray(v)) {
      if (v.length > b.max_items) return { path, message: `Arrays may hold at most ${b.max_items} items` };
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], path: [...path, i], depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > b.max_keys) return { path, message: `Objects may hold at most ${b.max_keys} keys` };
    for (const k of keys) {
      if (k.length > b.max_string) return { path, message: `Keys may hold at most ${b.max_string} characters` };
      stack.push({ v: (v as Record<string, unknown>)[k], path: [...path, k], depth: depth + 1 });
    }
  }
  return undefined;
}

/** A zod check for inputs: the limits above, reported at the path of the part at fault (a 422 through the shared hook). */
export function withinJsonBounds(value: unknown, ctx: z.RefinementCtx): void {
  const problem = jsonBoundsProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
}
