import { z } from "@hono/zod-openapi";
import { invalidCursor } from "./errors";
import { fromBase64Url, toBase64Url } from "./encoding";

export const PaginationQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  cursor: z.string().max(512).optional().openapi({ minLength: 1, description: "Opaque cursor from a previous page's next_cursor." }),
});
export type PaginationQuery = z.infer<typeof PaginationQuerySchema>;

export function listResponseSchema<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      data: z.array(item),
      next_cursor: z.string().nullable(),
    })
    .openapi(name);
}

/** Keyset cursor: the sort key and id of the last row of the page, base64url JSON. */
export interface Cursor {
  k: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(cursor)));
}

const CursorSchema = z.object({ k: z.string(), id: z.string() });

export function decodeCursor(value: string | undefined): Cursor | undefined {
  if (value === undefined) return undefined;
  try {
    return CursorSchema.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(value))));
  } catch {
    throw invalidCursor();
  }
}

/** Given limit+1 rows, returns the page and the cursor of the next one. */
export function paginate<T extends { id: string }>(rows: T[], limit: number, key: (row: T) => string) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next_cursor = rows.length > limit && last ? encodeCursor({ k: key(last), id: last.id }) : null;
  return { data: page, next_cursor };
}
