import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors";
import { PaginationQuerySchema, decodeCursor, encodeCursor, paginate } from "../src/pagination";

function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeError(value: string): ApiError {
  try {
    decodeCursor(value);
  } catch (err) {
    return err as ApiError;
  }
  throw new Error(`decodeCursor accepted ${JSON.stringify(value)}`);
}

describe("cursors", () => {
  it("round-trips a cursor through an opaque, URL-safe string", () => {
    const cursor = { k: "2026-11-25T12:00:00.000Z", id: "4b1f2c1e-8e0a-4c5d-9a47-1f3f2b0c9d11" };
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encoded).not.toContain(cursor.id);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it("round-trips keys outside ASCII and keys whose base64 needs - and _", () => {
    const cursor = { k: "Zürich ~~~ 東京 ???>>>", id: "id/with+chars=" };
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encoded).toMatch(/[-_]/);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it("treats a missing cursor as the first page", () => {
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it("answers any cursor it did not issue with a 422 ApiError", () => {
    for (const bad of ["garbage", "", "%%%", b64url("not json"), b64url("[1,2]"), b64url('{"k":1,"id":"x"}'), b64url('{"k":"a"}'), b64url("null")]) {
      const err = decodeError(bad);
      expect(err, bad).toBeInstanceOf(ApiError);
      expect(err.status).toBe(422);
      expect(err.errors).toEqual([{ path: "cursor", message: "Invalid cursor" }]);
      expect(err.toProblem("req-1").detail).toBe("The cursor is not one this API issued.");
    }
  });
});

describe("paginate", () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ id: `id-${i}`, created_at: `2026-01-0${i + 1}` }));
  const key = (r: { created_at: string }) => r.created_at;

  it("returns the first `limit` rows and a cursor at the last of them when one more row came back", () => {
    const page = paginate(rows.slice(0, 3), 2, key);
    expect(page.data).toEqual(rows.slice(0, 2));
    expect(page.next_cursor).not.toBeNull();
    expect(decodeCursor(page.next_cursor!)).toEqual({ k: "2026-01-02", id: "id-1" });
  });

  it("returns no cursor when the rows fit in the page", () => {
    expect(paginate(rows.slice(0, 2), 2, key)).toEqual({ data: rows.slice(0, 2), next_cursor: null });
    expect(paginate(rows.slice(0, 1), 2, key)).toEqual({ data: rows.slice(0, 1), next_cursor: null });
    expect(paginate([], 2, key)).toEqual({ data: [], next_cursor: null });
  });

  it("walks a whole result set page by page without gaps or repeats", () => {
    // What a handler does: fetch limit + 1 rows after the cursor, then paginate.
    const fetchAfter = (cursor: string | undefined, limit: number) => {
      const after = decodeCursor(cursor);
      const start = after ? rows.findIndex((r) => r.id === after.id) + 1 : 0;
      return rows.slice(start, start + limit + 1);
    };
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = paginate(fetchAfter(cursor, 2), 2, key);
      seen.push(...page.data.map((r) => r.id));
      cursor = page.next_cursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(rows.map((r) => r.id));
  });

  it("parses the query with a default limit of 20 and bounds of 1..100", () => {
    expect(PaginationQuerySchema.parse({})).toEqual({ limit: 20 });
    expect(PaginationQuerySchema.parse({ limit: "100", cursor: "abc" })).toEqual({ limit: 100, cursor: "abc" });
    for (const limit of ["0", "101", "1.5", "ten"]) expect(PaginationQuerySchema.safeParse({ limit }).success, limit).toBe(false);
    expect(PaginationQuerySchema.safeParse({ cursor: "x".repeat(513) }).success).toBe(false);
  });
});
