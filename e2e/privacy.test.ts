// Issue 23's "Done when", end to end: one person (a user, a CRM contact with deals and activities,
// an attendee of recurring appointments, linked to two files) is archived, previewed and erased over
// HTTP; then the local state is opened (every D1 database of every Worker, every R2 object) and
// searched for their email and name. Plus one direct write to the audit trail, as in events.test.ts.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, inject, it } from "vitest";
import { anon, api, passwordToken, type RegisteredOrg, registerOrg, unique } from "./helpers";
import { REPO_ROOT } from "./paths";

const PASSWORD = "a long enough password";
const day = [{ start: "00:00", end: "23:59" }];
const WEEK = { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day };

const as =
  (o: RegisteredOrg) =>
  (path: string, init: RequestInit = {}) =>
    api(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${o.token}` } });

async function make(o: RegisteredOrg, path: string, body: unknown): Promise<any> {
  const res = await as(o)(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
  return res.json();
}

async function upload(o: RegisteredOrg, name: string, bytes: Buffer): Promise<any> {
  const res = await as(o)(`/v1/documents/files?name=${name}`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

/** Polls a request until it ends (bounded). */
async function finished(o: RegisteredOrg, id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const body = (await (await as(o)(`/v1/privacy/requests/${id}`)).json()) as any;
    if (body.status === "completed" || body.status === "failed") return body;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`privacy request ${id} never finished`);
}

async function request(o: RegisteredOrg, body: unknown): Promise<any> {
  const res = await as(o)("/v1/privacy/requests", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(202);
  return finished(o, ((await res.json()) as { id: string }).id);
}

/** The entries of a zip, read from its central directory (the archive stores its entries, no compression). */
function unzip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    expect(zip.readUInt16LE(at + 10), "stored").toBe(0);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    out.set(name, zip.subarray(start, start + size));
    at += 46 + nameLength + extra + comment;
  }
  return out;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Every row of every table of every local D1 database that holds one of `needles` (case-insensitive), unless it names `except`. */
function d1Hits(needles: string[], except: string): string[] {
  const dir = join(inject("stateDir"), "v3", "d1", "miniflare-D1DatabaseObject");
  const lower = needles.map((n) => n.toLowerCase());
  const hits: string[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
    const db = new DatabaseSync(join(dir, f), { readOnly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of tables) {
        let rows: Record<string, unknown>[];
        try {
          rows = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
        } catch {
          continue; // a virtual table this SQLite cannot open; its shadow tables are read directly
        }
        for (const row of rows) {
          const text = Object.values(row)
            .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : String(v)))
            .join("\u0000")
            .toLowerCase();
          if (text.includes(except)) continue;
          for (const n of lower) if (text.includes(n)) hits.push(`${f} ${name}: ${n}`);
        }
      }
    } finally {
      db.close();
    }
  }
  return hits;
}

/** Every file under the local R2 state (blobs and their metadata databases) holding one of `needles`. */
function r2Hits(needles: string[]): string[] {
  const root = join(inject("stateDir"), "v3", "r2");
  const hits: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".sqlite")) {
        const db = new DatabaseSync(p, { readOnly: true });
        try {
          for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]) {
            const text = JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all()).toLowerCase();
            for (const n of needles) if (text.includes(n.toLowerCase())) hits.push(`${p} ${name}: ${n}`);
          }
        } finally {
          db.close();
        }
      } else if (!f.endsWith("-wal") && !f.endsWith("-shm")) {
        const text = readFileSync(p).toString("latin1").toLowerCase();
        for (const n of needles) if (text.includes(n.toLowerCase())) hits.push(`${p}: ${n}`);
      }
    }
  };
  walk(root);
  return hits;
}

function d1(sql: string) {
  return execFileSync(
    join(REPO_ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", "DB", "--local", "--json", "-c", join(REPO_ROOT, "workers/gateway/wrangler.toml"), "--persist-to", inject("stateDir"), "--command", sql],
    { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, encoding: "utf8" },
  );
}

describe("privacy: access and erasure of one person across the platform", () => {
  it("archives every record and both files, previews, erases everywhere (D1 and R2), keeps others' data, and the audit trail verifies", async () => {
    const a = await registerOrg("Privacy E2E");
    const b = await registerOrg("Privacy E2E other");
    const email = `${unique("grace")}@navy.example`;
    const last = unique("Hopper").replace("-", "");
    const name = `Grace ${last}`;

    // The person in organization a: a user who signed in, a contact, deals, activities, recurring appointments, two files.
    const user = await make(a, "/v1/users", { email, name, password: PASSWORD, roles: ["viewer"] });
    await passwordToken(email, PASSWORD);
    const contact = await make(a, "/v1/crm/contacts", { first_name: "Grace", last_name: last, email });
    const deals = [await make(a, "/v1/crm/deals", { title: "Compiler", amount: 1, currency: "EUR", contact_id: contact.id })];
    deals.push(await make(a, "/v1/crm/deals", { title: "Cobol", amount: 2, currency: "EUR", contact_id: contact.id }));
    const activities = [await make(a, "/v1/crm/activities", { type: "note", contact_id: contact.id, body: "First meeting" })];
    activities.push(await make(a, "/v1/crm/activities", { type: "call", contact_id: contact.id, body: "Follow-up" }));
    const calendar = await make(a, "/v1/appointments/calendars", { name: "Desk", time_zone: "UTC", working_hours: WEEK });
    const attendees = [
      { contact_id: contact.id, email, name },
      { email: "alan@example.com", name: "Alan Turing" },
    ];
    const appointments = [
      await make(a, "/v1/appointments/appointments", {
        calendar_id: calendar.id,
        title: "Weekly review",
        start: "2027-03-01T09:00:00Z",
        end: "2027-03-01T10:00:00Z",
        recurrence: "FREQ=WEEKLY;BYDAY=MO;COUNT=6",
        attendees,
      }),
      await make(a, "/v1/appointments/appointments", {
        calendar_id: calendar.id,
        title: "Daily stand-up",
        start: "2027-03-02T08:00:00Z",
        end: "2027-03-02T08:15:00Z",
        recurrence: "FREQ=DAILY;COUNT=5",
        attendees,
      }),
    ];
    const bodies = [Buffer.from(`CV of ${name} <${email}>\n`), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256))];
    const files = [await upload(a, "cv.txt", bodies[0]!), await upload(a, "scan.bin", bodies[1]!)];
    for (const f of files) await make(a, "/v1/mesh/joins", { relationship: "documents", origin_id: contact.id, related_id: f.id });

    // Organization b: a contact with the same email.
    const theirs = await make(b, "/v1/crm/contacts", { first_name: "Grace", last_name: "Elsewhere", email });

    // The changes' events reach the audit trail through a queue: wait for them (bounded), so none arrives after the erasure.
    const subjects = [
      contact.id,
      ...deals.map((d) => d.id),
      ...activities.map((x) => x.id),
      ...appointments.map((x) => x.id),
      ...files.map((f) => f.id),
      user.id,
    ];
    for (let i = 0; ; i++) {
      const seen = ((await (await as(a)("/v1/events?limit=100")).json()) as { data: { subject: string }[] }).data;
      if (subjects.every((s) => seen.some((e) => e.subject === s))) break;
      if (i > 120) throw new Error("the events never arrived");
      await new Promise((r) => setTimeout(r, 250));
    }

    // Access: the archive holds every record and both files' bytes.
    const access = await request(a, { type: "access", subject: { email } });
    expect(access).toMatchObject({ status: "completed", error: null });
    const zip = Buffer.from(await (await anon(access.archive.url)).arrayBuffer());
    expect(sha256(zip)).toBe(access.archive.sha256);
    const entries = unzip(zip);
    const json = (path: string) => JSON.parse(entries.get(path)!.toString("utf8"));
    const ids = (path: string) =>
      json(path)
        .records.map((r: { id: string }) => r.id)
        .sort();
    expect(ids("services/crm/contacts.json")).toEqual([contact.id]);
    expect(ids("services/crm/deals.json")).toEqual(deals.map((d) => d.id).sort());
    expect(ids("services/crm/activities.json")).toEqual(activities.map((x) => x.id).sort());
    expect(ids("services/appointments/appointments.json")).toEqual(appointments.map((x) => x.id).sort());
    expect(ids("services/documents/files.json")).toEqual(files.map((f) => f.id).sort());
    files.forEach((f, i) => {
      const path = [...entries.keys()].find((p) => p.startsWith(`files/documents/files/${f.id}/`))!;
      expect(entries.get(path)!.equals(bodies[i]!), path).toBe(true);
    });
    expect(json("identity/account.json")).toMatchObject([{ id: user.id, email, name }]);
    expect(json("identity/sign_ins.json").length).toBeGreaterThanOrEqual(1);
    const manifest = json("manifest.json");
    expect(manifest.complete).toBe(true);
    for (const e of manifest.entries) expect(sha256(entries.get(e.path)!), e.path).toBe(e.sha256);
    // The search below sees what it looks for: the archive and the CV are in R2 now, the person in D1.
    expect(r2Hits([email]).length).toBeGreaterThanOrEqual(2);
    expect(d1Hits([email, last], b.organization_id).length).toBeGreaterThan(0);

    // The preview lists every record.
    const preview = await request(a, { type: "erasure", subject: { email }, dry_run: true });
    expect(preview.status).toBe("completed");
    const line = (r: any, service: string, model: string) => r.steps.find((s: any) => s.service === service && s.model === model);
    expect(line(preview, "crm", "contacts").ids).toEqual([contact.id]);
    expect(line(preview, "crm", "deals").ids.sort()).toEqual(deals.map((d) => d.id).sort());
    expect(line(preview, "crm", "activities").ids.sort()).toEqual(activities.map((x) => x.id).sort());
    expect(line(preview, "appointments", "appointments").ids.sort()).toEqual(appointments.map((x) => x.id).sort());
    expect(line(preview, "documents", "files").ids.sort()).toEqual(files.map((f) => f.id).sort());
    expect(line(preview, "gateway", "users").ids).toEqual([user.id]);

    // Erasure: then no D1 database and no R2 object holds the email or the name (organization b's rows aside).
    const erased = await request(a, { type: "erasure", subject: { email } });
    expect(erased).toMatchObject({ status: "completed", error: null, subject: { erased: true } });
    expect(d1Hits([email, last], b.organization_id)).toEqual([]);
    expect(r2Hits([email, last])).toEqual([]);
    // The appointments stay, for the other attendee only.
    for (const x of appointments) {
      const kept = (await (await as(a)(`/v1/appointments/appointments/${x.id}`)).json()) as any;
      expect(kept.attendees).toEqual([{ contact_id: null, email: "alan@example.com", name: "Alan Turing" }]);
    }
    expect((await as(a)(`/v1/users/${user.id}`)).status).toBe(404);
    // Organization b's contact is untouched.
    expect(await (await as(b)(`/v1/crm/contacts/${theirs.id}`)).json()).toEqual(theirs);

    // The audit trail verifies after the redaction, and still reports a tampered row.
    const verify = async () => (await (await as(a)("/v1/audit/verify")).json()) as any;
    expect(await verify()).toMatchObject({ intact: true, broken: null });
    const trail = ((await (await as(a)("/v1/audit?limit=5")).json()) as { data: { seq: number; type: string }[] }).data;
    const target = trail[trail.length - 1]!;
    d1(`UPDATE audit_entries SET type = 'crm.contact.forged' WHERE organization_id = '${a.organization_id}' AND seq = ${target.seq}`);
    expect(await verify()).toMatchObject({ intact: false, broken: { seq: target.seq } });
  });
});
