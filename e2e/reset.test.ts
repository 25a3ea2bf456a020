// `npm run reset` (scripts/reset.sh) puts the demo data back, so a guide's walkthrough can be run
// again; it refuses while the platform is running on its port.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./paths";
import { freePort } from "./second-platform";

const stateDir = mkdtempSync(join(tmpdir(), "buildly-reset-state-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/** Runs the script without blocking this process (the refusal test's server must answer meanwhile). */
function reset(port: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/reset.sh"], {
      cwd: REPO_ROOT,
      env: { ...process.env, BUILDLY_STATE_DIR: stateDir, PORT: String(port), SKIP_INSTALL: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The CRM's local D1 file (its first migration names it). */
function crmDatabase(): string {
  const dir = join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".sqlite"))) {
    const db = new DatabaseSync(join(dir, f), { readOnly: true });
    try {
      const first = db.prepare("SELECT name FROM d1_migrations ORDER BY id LIMIT 1").get() as { name: string } | undefined;
      if (first?.name === "0001_contacts.sql") return join(dir, f);
    } finally {
      db.close();
    }
  }
  throw new Error("no CRM database in the state directory");
}

function contacts(): number {
  const db = new DatabaseSync(crmDatabase(), { readOnly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM contacts").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("npm run reset", () => {
  it("deletes the local state and seeds the demo data again", { timeout: 1_500_000 }, async () => {
    const port = await freePort();
    const first = await reset(port);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    const seeded = contacts();
    expect(seeded).toBeGreaterThan(0);

    // What a walkthrough leaves behind: changed demo data and state of its own.
    const db = new DatabaseSync(crmDatabase());
    db.exec("PRAGMA foreign_keys = OFF; DELETE FROM contacts;");
    db.close();
    writeFileSync(join(stateDir, "left-behind"), "x");
    expect(contacts()).toBe(0);

    const again = await reset(port);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain("demo data restored");
    expect(contacts()).toBe(seeded);
    expect(existsSync(join(stateDir, "left-behind"))).toBe(false);
  });

  it("refuses while the platform answers on its port, and keeps the state", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const server: Server = createServer((_, res) => res.end('{"status":"ok"}'));
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    writeFileSync(join(stateDir, "kept"), "x");
    try {
      const res = await reset(port);
      expect(res.status).toBe(1);
      expect(res.stderr).toContain("stop npm run dev");
      expect(existsSync(join(stateDir, "kept"))).toBe(true);
    } finally {
      server.close();
    }
  });
});
