// `npm run dev` must give every Worker its own local D1, as production does: wrangler keys a
// local database by its preview_database_id (else its id, else its binding name, which is DB for
// all four Workers here and once made them share one SQLite file).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, inject, it } from "vitest";
import { ADDED_SERVICES } from "./registry";

describe("local state of npm run dev", () => {
  it("holds one D1 database per Worker, each with only its own migrations", () => {
    const dir = join(inject("stateDir"), "v3", "d1", "miniflare-D1DatabaseObject");
    const files = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f));
    const migrations = files.map((f) => {
      const db = new DatabaseSync(join(dir, f), { readOnly: true });
      try {
        return (db.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as { name: string }[]).map((r) => r.name);
      } finally {
        db.close();
      }
    });
    // Each Worker's first migration names it.
    const FIRST: Record<string, string> = {
      "0001_identity.sql": "gateway",
      "0001_contacts.sql": "crm",
      "0001_files.sql": "documents",
      "0001_calendars.sql": "appointments",
    };
    // A service added by new-service has a first migration of its own (one database each).
    const owner = (names: string[]) => FIRST[names[0] ?? ""] ?? "added";
    expect(migrations.map(owner).sort()).toEqual([...ADDED_SERVICES.map(() => "added"), "appointments", "crm", "documents", "gateway"].sort());
    // No database holds another Worker's first migration.
    for (const names of migrations) expect(names.filter((n) => n.startsWith("0001_")).length).toBe(1);
  });
});
