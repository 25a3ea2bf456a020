import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { paginate } from "@buildly/sdk";
import { describe, expect, inject, it } from "vitest";
import { api, sdk } from "./helpers";
import { REPO_ROOT } from "./paths";

// Records are read through the SDK; a file's content (its bytes and ETag) with a raw call.

// The ids in workers/*/seed/demo.sql.
const DEMO_CONTACTS = {
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01": "ada@analytical.example",
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a02": "grace@cobol.example",
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a03": "katherine@orbits.example",
  "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a04": "alan@bletchley.example",
};
const DEMO_CALENDARS = {
  "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01": "Sales team",
  "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b02": "Support desk",
};
const DEMO_FILE = {
  id: "d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01",
  name: "statement-of-work.txt",
  size: 91,
  sha256: "c8e81fc32018d3647d4da38cd426f38e243f92ec7cf5183018ec429d2a20241e",
};

async function ids(records: AsyncIterable<{ id: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const r of records) out.push(r.id);
  return out;
}

async function snapshot() {
  const client = sdk();
  const query = (cursor: string | undefined) => ({ params: { query: { cursor, limit: 100 } } });
  const [contacts, calendars, files] = await Promise.all([
    ids(paginate((cursor) => client.GET("/v1/crm/contacts", query(cursor)))),
    ids(paginate((cursor) => client.GET("/v1/appointments/calendars", query(cursor)))),
    ids(paginate((cursor) => client.GET("/v1/documents/files", query(cursor)))),
  ]);
  return { contacts, calendars, files };
}

const countOf = (ids: string[], id: string) => ids.filter((x) => x === id).length;

/** Holds the local CRM database (the D1 file with a contacts table) in an exclusive transaction. */
function lockCrmDatabase(stateDir: string) {
  const dir = join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .find((f) => {
      const db = new DatabaseSync(join(dir, f), { readOnly: true });
      try {
        return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'contacts'").get() !== undefined;
      } finally {
        db.close();
      }
    });
  if (!file) throw new Error(`no CRM database in ${dir}`);
  const db = new DatabaseSync(join(dir, file), { timeout: 30_000 });
  db.exec("BEGIN EXCLUSIVE");
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.exec("ROLLBACK");
      db.close();
    },
  };
}

describe("demo data", () => {
  it("is there after `npm run dev`: contacts, calendars and a file with its body", async () => {
    const client = sdk();
    for (const [id, email] of Object.entries(DEMO_CONTACTS)) {
      expect((await client.GET("/v1/crm/contacts/{id}", { params: { path: { id } } })).email, id).toBe(email);
    }
    for (const [id, name] of Object.entries(DEMO_CALENDARS)) {
      expect((await client.GET("/v1/appointments/calendars/{id}", { params: { path: { id } } })).name, id).toBe(name);
    }
    expect(await client.GET("/v1/documents/files/{id}", { params: { path: { id: DEMO_FILE.id } } })).toMatchObject(DEMO_FILE);

    const content = await api(`/v1/documents/files/${DEMO_FILE.id}/content`);
    expect(content.status).toBe(200);
    const bytes = Buffer.from(await content.arrayBuffer());
    expect(bytes.byteLength).toBe(DEMO_FILE.size);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(DEMO_FILE.sha256);
    expect(content.headers.get("etag")).toBe(`"${DEMO_FILE.sha256}"`);
  });

  it("running scripts/migrate.sh again on the same state duplicates nothing", async () => {
    const before = await snapshot();
    for (const id of Object.keys(DEMO_CONTACTS)) expect(countOf(before.contacts, id), id).toBe(1);
    for (const id of Object.keys(DEMO_CALENDARS)) expect(countOf(before.calendars, id), id).toBe(1);
    expect(countOf(before.files, DEMO_FILE.id)).toBe(1);

    // The platform keeps running. To make the collision certain (it used to happen only now and then,
    // and failed with SQLITE_BUSY), the CRM's database is held locked, as a long write of the
    // platform would hold it, until migrate.sh says it is waiting for it; then released.
    const lock = lockCrmDatabase(inject("stateDir"));
    const child = spawn("bash", ["scripts/migrate.sh"], {
      cwd: REPO_ROOT,
      env: { ...process.env, SKIP_INSTALL: "1", BUILDLY_STATE_DIR: inject("stateDir"), FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let waited = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      if (!waited && stderr.includes("the state is busy")) {
        waited = true;
        lock.release();
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    lock.release();
    expect(waited, `migrate.sh waited for the busy database: ${stderr}`).toBe(true);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`seeded in ${inject("stateDir")}`);

    const after = await snapshot();
    expect(after).toEqual(before);
    // The re-put body still matches its row.
    const content = await api(`/v1/documents/files/${DEMO_FILE.id}/content`);
    expect(
      createHash("sha256")
        .update(Buffer.from(await content.arrayBuffer()))
        .digest("hex"),
    ).toBe(DEMO_FILE.sha256);
    // Nine wrangler runs and one more after the wait: on a loaded 2-core machine they took 4.5 minutes.
  }, 600_000);
});
