import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ApiError,
  PaginationQuerySchema,
  afterCursor,
  createServiceApp,
  decodeCursor,
  fieldError,
  getOwnedOr404,
  handleWithContext,
  hasOwned,
  inJson,
  invalidCursor,
  jsonBody,
  jsonContent,
  jsonContentRequired,
  keyset,
  listResponseSchema,
  notFound,
  orNotFound,
  ownedBy,
  paginate,
  problemResponses,
  requireOwned,
  sortQuerySchema,
} from "../src";
import { expectProblem, freshOrg, listAll, problemPaths, serviceClient } from "../src/test";

const d1 = (env as unknown as { KIT_DB: D1Database }).KIT_DB;
const items = sqliteTable("items", {
  id: text("id").primaryKey(),
  organization_id: text("organization_id").notNull(),
  name: text("name").notNull(),
  rank: integer("rank"),
  created_at: text("created_at").notNull(),
});
const database = drizzle(d1);
const ORG = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";

/** 30 rows in ORG: created_at repeats (ties broken by id), rank is NULL for every third row; 5 rows in OTHER. */
const rows = Array.from({ length: 35 }, (_, i) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  organization_id: i < 30 ? ORG : OTHER,
  name: `item ${i}`,
  rank: i % 3 === 0 ? null : (i * 7) % 10,
  created_at: `2026-01-0${1 + (i % 4)}T00:00:00.000Z`,
}));

beforeAll(async () => {
  await d1.exec(
    "CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, name TEXT NOT NULL, rank INTEGER, created_at TEXT NOT NULL)",
  );
  await d1.exec("DELETE FROM items");
  // D1 binds at most 100 parameters per statement: 5 columns, 10 rows a statement.
  for (let i = 0; i < rows.length; i += 10) await database.insert(items).values(rows.slice(i, i + 10));
});

function caught(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    return err as ApiError;
  }
  throw new Error("expected a throw");
}

describe("error builders", () => {
  it("fieldError is a 422 with one field error and the schema detail unless told", () => {
    const err = fieldError("contact_id", "No such contact");
    expect(err).toBeInstanceOf(ApiError);
    expect(err.toProblem("rid")).toMatchObject({
      status: 422,
      title: "Unprocessable Content",
      detail: "The request does not match the schema.",
      errors: [{ path: "contact_id", message: "No such contact" }],
    });
    expect(fieldError("q", "Too long", "The query is too long.").message).toBe("The query is too long.");
  });

  it("invalidCursor names the cursor field; notFound and orNotFound answer 404", () => {
    expect(invalidCursor().toProblem("r")).toMatchObject({ status: 422, errors: [{ path: "cursor", message: "Invalid cursor" }] });
    expect(invalidCursor("Not for this sort.").message).toBe("Not for this sort.");
    expect(notFound("No thing has this id.")).toMatchObject({ status: 404, message: "No thing has this id." });
    expect(orNotFound({ id: "x" }, "gone")).toEqual({ id: "x" });
    expect(orNotFound(0, "gone")).toBe(0);
    expect(caught(() => orNotFound(undefined, "No thing has this id."))).toMatchObject({ status: 404, message: "No thing has this id." });
    expect(caught(() => orNotFound(null, "gone")).status).toBe(404);
  });
});

describe("route response helpers", () => {
  it("jsonContent and jsonContentRequired build the OpenAPI entries createRoute takes", () => {
    const S = z.object({ id: z.string() });
    expect(jsonContent(S, "The thing")).toEqual({ description: "The thing", content: { "application/json": { schema: S } } });
    expect(jsonContentRequired(S)).toEqual({ required: true, content: { "application/json": { schema: S } } });
    expect(jsonContentRequired(S, "A thing")).toEqual({ required: true, description: "A thing", content: { "application/json": { schema: S } } });
  });
});

const byOrg = rows.filter((r) => r.organization_id === ORG);

/** Follows next_cursor through `fetchPage` and returns the ids in the order the pages gave them. */
async function walk(fetchPage: (cursor: string | undefined) => Promise<{ data: { id: string }[]; next_cursor: string | null }>) {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const page = await fetchPage(cursor);
    seen.push(...page.data.map((r) => r.id));
    if (!page.next_cursor) return seen;
    cursor = page.next_cursor;
  }
  throw new Error("pagination did not end");
}

describe("afterCursor on D1", () => {
  const page = async (cursor: string | undefined, descending: boolean) => {
    const order = descending ? [desc(items.created_at), desc(items.id)] : [asc(items.created_at), asc(items.id)];
    const found = await database
      .select()
      .from(items)
      .where(and(eq(items.organization_id, ORG), afterCursor(items.created_at, items.id, decodeCursor(cursor), descending)))
      .orderBy(...order)
      .limit(5);
    return paginate(found, 4, (r) => r.created_at);
  };
  const ordered = [...byOrg].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id)).map((r) => r.id);

  it("is undefined without a cursor, so and() drops it", () => {
    expect(afterCursor(items.created_at, items.id, undefined)).toBeUndefined();
  });

  it("walks every row of the organization once, in (created_at, id) order, across ties", async () => {
    expect(await walk((c) => page(c, false))).toEqual(ordered);
  });

  it("walks newest first when descending", async () => {
    expect(await walk((c) => page(c, true))).toEqual([...ordered].reverse());
  });
});

describe("keyset (sorted lists) on D1", () => {
  const Sort = sortQuerySchema(["name", "rank"], "-rank");
  const list = async (sort: string, cursor: string | undefined) => {
    const plan = keyset(sort, { name: items.name, rank: items.rank }, items.id, cursor);
    const found = await database
      .select()
      .from(items)
      .where(and(eq(items.organization_id, ORG), plan.after))
      .orderBy(...plan.orderBy)
      .limit(4);
    return plan.page(found, 3);
  };
  /** SQLite's order for the nullable rank: NULLs first ascending, last descending; ties by id. */
  const byRank = (dir: 1 | -1) =>
    [...byOrg]
      .sort((a, b) => {
        if (a.rank === b.rank) return dir * a.id.localeCompare(b.id);
        if (a.rank === null) return -dir;
        if (b.rank === null) return dir;
        return dir * (a.rank - b.rank);
      })
      .map((r) => r.id);

  it("offers each field both ways and defaults to the fallback", () => {
    expect(Sort.parse(undefined)).toBe("-rank");
    expect(Sort.parse("name")).toBe("name");
    expect(Sort.safeParse("id").success).toBe(false);
  });

  it("walks a nullable column both ways without losing or repeating a row", async () => {
    expect(await walk((c) => list("rank", c))).toEqual(byRank(1));
    expect(await walk((c) => list("-rank", c))).toEqual(byRank(-1));
    expect(await walk((c) => list("name", c))).toEqual([...byOrg].sort((a, b) => a.name.localeCompare(b.name)).map((r) => r.id));
  });

  it("refuses a cursor of another sort, and one that is not a sort cursor, with 422 on cursor", async () => {
    const first = await list("rank", undefined);
    expect(first.next_cursor).not.toBeNull();
    const other = caught(() => keyset("-rank", { rank: items.rank }, items.id, first.next_cursor!));
    expect(other.toProblem("r")).toMatchObject({ status: 422, errors: [{ path: "cursor" }] });
    const plain = paginate([{ id: "a" }, { id: "b" }], 1, () => "not json").next_cursor!;
    expect(caught(() => keyset("rank", { rank: items.rank }, items.id, plain)).status).toBe(422);
    const object = paginate([{ id: "a" }, { id: "b" }], 1, () => JSON.stringify(["rank", { x: 1 }])).next_cursor!;
    expect(caught(() => keyset("rank", { rank: items.rank }, items.id, object)).status).toBe(422);
  });
});

describe("D1 row helpers", () => {
  it("inJson binds any number of ids as one parameter", async () => {
    const wanted = [...rows.slice(0, 150).map((r) => r.id), ...Array.from({ length: 150 }, () => crypto.randomUUID())];
    const found = await database.select({ id: items.id }).from(items).where(inJson(items.id, wanted));
    expect(found.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(await database.select().from(items).where(inJson(items.id, []))).toEqual([]);
  });

  it("getOwnedOr404 reads the organization's row and 404s another organization's", async () => {
    const mine = rows[1]!;
    expect(await getOwnedOr404(database, items, mine.id, ORG, "No item has this id.")).toEqual(mine);
    const err = await getOwnedOr404(database, items, mine.id, OTHER, "No item has this id.").catch((e) => e);
    expect(err).toMatchObject({ status: 404, message: "No item has this id." });
    expect(
      await database
        .select()
        .from(items)
        .where(ownedBy(items, rows[31]!.id, OTHER)),
    ).toEqual([rows[31]]);
  });

  it("hasOwned and requireOwned see only the organization's own rows", async () => {
    const mine = rows[1]!;
    expect(await hasOwned(database, items, mine.id, ORG)).toBe(true);
    expect(await hasOwned(database, items, mine.id, OTHER)).toBe(false);
    expect(await hasOwned(database, items, crypto.randomUUID(), ORG)).toBe(false);
    // `also` narrows further: the row is there only if it matches too.
    expect(await hasOwned(database, items, mine.id, ORG, eq(items.name, mine.name))).toBe(true);
    expect(await hasOwned(database, items, mine.id, ORG, eq(items.name, "another name"))).toBe(false);
    await expect(getOwnedOr404(database, items, mine.id, ORG, "gone", eq(items.name, "another name"))).rejects.toMatchObject({ status: 404 });
    await requireOwned(database, items, mine.id, ORG, "No item has this id.");
    await expect(requireOwned(database, items, mine.id, OTHER, "No item has this id.")).rejects.toMatchObject({ status: 404, message: "No item has this id." });
  });
});

describe("test helpers against a real service app", () => {
  const ItemSchema = z.object({ id: z.string(), name: z.string() });
  const app = createServiceApp<Record<string, never>>("kit");
  app.openapi(
    createRoute({
      method: "get",
      path: "/items",
      request: { query: PaginationQuerySchema },
      responses: { 200: jsonContent(listResponseSchema(ItemSchema, "KitItemList"), "A page"), ...problemResponses(422) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const org = c.get("identity").organization_id;
      const found = await database
        .select({ id: items.id, name: items.name, created_at: items.created_at })
        .from(items)
        .where(and(eq(items.organization_id, org), afterCursor(items.created_at, items.id, decodeCursor(cursor))))
        .orderBy(asc(items.created_at), asc(items.id))
        .limit(limit + 1);
      const page = paginate(found, limit, (r) => r.created_at);
      return c.json({ data: page.data.map(({ id, name }) => ({ id, name })), next_cursor: page.next_cursor }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/items",
      middleware: [jsonBody(1024)] as const,
      request: { body: jsonContentRequired(z.object({ name: z.string().min(1) })) },
      responses: { 201: jsonContent(ItemSchema, "Made"), ...problemResponses(400, 413, 415, 422) },
    }),
    (c) => c.json({ id: "new", name: c.req.valid("json").name }, 201),
  );
  const service = { handle: (request: Request, context: unknown) => handleWithContext(app, {}, createExecutionContext(), request, context) };

  it("listAll follows every page, with and without a page size", async () => {
    const client = serviceClient(service, ORG);
    expect((await listAll(client, "/items", 7)).length).toBe(30);
    expect((await listAll(client, "/items")).length).toBe(30);
    expect(await listAll(serviceClient(service, OTHER), "/items?limit=2")).toHaveLength(5);
  });

  it("listAll fails loudly on a page that is not 200", async () => {
    await expect(listAll(serviceClient(service, ORG), "/items?cursor=bogus")).rejects.toThrow(/answered 422/);
  });

  it("freshOrg gives an organization that holds nothing yet", async () => {
    const { org, client } = freshOrg(service);
    expect(org).not.toBe(ORG);
    expect(await listAll(client, "/items")).toEqual([]);
  });

  it("expectProblem and problemPaths read the problem every Worker writes", async () => {
    const client = serviceClient(service, ORG);
    expect(await problemPaths(await client.post("/items", { name: "" }))).toEqual(["name"]);
    const tooBig = await expectProblem(await client.post("/items", { name: "x".repeat(2000) }), 413);
    expect(tooBig.max_bytes).toBe(1024);
    // A response of another status, or one that is not problem+json, fails the assertion.
    await expect(expectProblem(await client.get("/items"), 200)).rejects.toThrow();
    await expect(expectProblem(await client.get("/nowhere"), 400)).rejects.toThrow();
  });
});
