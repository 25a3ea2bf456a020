// D1 read replication through the Sessions API (src/d1-session.ts): the bookmark header's
// format, and a round trip through handleWithContext against a real D1 binding.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createServiceApp, handleWithContext } from "../src/app";
import { D1_BOOKMARK_HEADER, bookmarkFrom, d1SessionFor } from "../src/d1-session";
import { identity } from "../src/test";

const DB = (env as unknown as { DB: D1Database }).DB;
const headers = (value?: string) => new Headers(value === undefined ? {} : { [D1_BOOKMARK_HEADER]: value });

beforeAll(async () => {
  await DB.exec("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)");
});

describe("the bookmark header", () => {
  it("gives each service its own entry, and none for a service it does not name", () => {
    expect(bookmarkFrom(headers("crm=00000001-0000000a-00004e2c-abc, documents=00000002-0000000b-00004e2d-def"), "documents")).toBe(
      "00000002-0000000b-00004e2d-def",
    );
    expect(bookmarkFrom(headers("crm=00000001-0000000a"), "appointments")).toBeUndefined();
    expect(bookmarkFrom(headers(), "crm")).toBeUndefined();
    expect(bookmarkFrom(headers(" "), "crm")).toBeUndefined();
  });

  it("refuses what is not a list of service=bookmark entries (400)", () => {
    for (const bad of ["abc", "crm=", "=abc", "crm=a b", "crm=abc;documents=def", `crm=${"a".repeat(300)}`, "CRM=abc"]) {
      expect(() => bookmarkFrom(headers(bad), "crm"), bad).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe("a D1 session per request", () => {
  it("answers with a bookmark, and a session started from it reads the write", async () => {
    const first = d1SessionFor({ DB }, "notes", headers());
    const id = crypto.randomUUID();
    await first.env.DB.prepare("INSERT INTO notes (id, body) VALUES (?1, ?2)").bind(id, "hello").run();
    const entry = first.entry();
    expect(entry).toMatch(/^notes=[A-Za-z0-9._:-]+$/);
    const next = d1SessionFor({ DB }, "notes", headers(`other=x, ${entry}`));
    const row = await next.env.DB.prepare("SELECT body FROM notes WHERE id = ?1").bind(id).first<{ body: string }>();
    expect(row?.body).toBe("hello");
    // The session's bookmark never goes back in time.
    expect(next.entry()! >= entry!).toBe(true);
  });

  it("leaves an env without a D1 binding alone", () => {
    const plain = { OTHER: "x" };
    const s = d1SessionFor(plain, "notes", headers("notes=abc"));
    expect(s.env).toBe(plain);
    expect(s.entry()).toBeUndefined();
  });
});

describe("handleWithContext with a service name", () => {
  const app = createServiceApp<{ DB: D1Database }>("notes");
  app.post("/notes", async (c) => {
    const id = crypto.randomUUID();
    await c.env.DB.prepare("INSERT INTO notes (id, body) VALUES (?1, ?2)")
      .bind(id, await c.req.text())
      .run();
    return c.json({ id }, 201);
  });
  app.get("/notes/:id", async (c) => {
    const row = await c.env.DB.prepare("SELECT body FROM notes WHERE id = ?1").bind(c.req.param("id")).first<{ body: string }>();
    return row ? c.json(row) : c.json({ missing: true }, 404);
  });
  const call = (path: string, init: RequestInit = {}) =>
    handleWithContext(app, { DB }, createExecutionContext(), new Request(`https://notes.internal${path}`, init), identity(), { service: "notes" });

  it("returns the session's bookmark, and a read sent with it sees the write", async () => {
    const created = await call("/notes", { method: "POST", body: "written" });
    expect(created.status).toBe(201);
    const entry = created.headers.get(D1_BOOKMARK_HEADER);
    expect(entry).toMatch(/^notes=/);
    const { id } = await created.json<{ id: string }>();
    const read = await call(`/notes/${id}`, { headers: { [D1_BOOKMARK_HEADER]: entry! } });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ body: "written" });
    expect(read.headers.get(D1_BOOKMARK_HEADER)).toMatch(/^notes=/);
  });

  it("answers a malformed bookmark header with a 400 problem, running nothing", async () => {
    const res = await call("/notes", { method: "POST", body: "never", headers: { [D1_BOOKMARK_HEADER]: "not a bookmark" } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const count = await DB.prepare("SELECT count(*) AS n FROM notes WHERE body = 'never'").first<{ n: number }>();
    expect(count?.n).toBe(0);
  });
});
