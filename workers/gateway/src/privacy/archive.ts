import { callService, type SubjectRecords, nowIso } from "@buildly/shared";
import { toBase64Url, toHex } from "@buildly/shared/encoding";
import { detachedCaller, meshCall } from "../mesh/calls";
import { withDeadline } from "../upstream/deadline";
import { serviceBinding, serviceRegistry } from "../upstream/registry";
import { identityRecords } from "./identity-data";

/*
 * The access archive (GDPR articles 15 and 20; docs/privacy.md): one zip per access request in
 * the PRIVACY_ARCHIVES bucket. Entries are stored, not deflated: most file bodies are compressed
 * already, stored entries stream with no window to keep, and the archive stays searchable for
 * what it holds (an erasure deletes it). Memory is bounded: the zip is written to R2 as a
 * multipart upload of ARCHIVE_PART_BYTES parts, and a file body streams through part by part.
 */

/** Each multipart part (R2 wants equal parts of at least 5 MiB, but the last). */
export const ARCHIVE_PART_BYTES = 8 * 1024 * 1024;
/** The largest archive: a zip without ZIP64 stays under 4 GiB. Bodies beyond it are listed, not included. */
export const ARCHIVE_MAX_BYTES = 2 * 1024 * 1024 * 1024;
/** Audit entries (and their events) about the person included, oldest first. */
export const ARCHIVE_MAX_AUDIT_ENTRIES = 5_000;
/** How long a download link lasts. */
export const ARCHIVE_LINK_SECONDS = 15 * 60;

/** Models whose records have a stored body, and where their contract serves it (the current version). */
const BODIES: Record<string, (id: string) => string> = {
  "documents.files": (id) => `/files/${encodeURIComponent(id)}/content`,
};

export interface ManifestEntry {
  path: string;
  kind: "records" | "file" | "identity" | "events" | "audit";
  service?: string;
  model?: string;
  /** records / events / audit entries in the entry. */
  count?: number;
  /** The record a file body belongs to. */
  record_id?: string;
  bytes: number;
  sha256: string;
  truncated?: boolean;
}

export interface ArchiveSummary {
  key: string;
  bytes: number;
  sha256: string;
  entries: number;
  created_at: string;
}

export interface ArchiveInput {
  requestId: string;
  org: string;
  subject: unknown;
  services: string[];
  emails: string[];
  contactIds: string[];
  userIds: string[];
  linked: Record<string, string[]>;
}

/** Per service that could not be read: what the request reports as remaining. */
export interface ArchiveFailure {
  service: string;
  problem: { status: number; title: string; detail: string | null };
}

export function archiveKey(org: string, requestId: string): string {
  return `access/${org}/${requestId}.zip`;
}

/** Collects the zip's output and uploads it to R2 in equal parts, hashing it on the way. */
class PartSink {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private parts: R2UploadedPart[] = [];
  private hashing: Uint8Array[] = [];
  private digest = new crypto.DigestStream("SHA-256");
  private writer = this.digest.getWriter();
  size = 0;
  failed: unknown = null;

  constructor(private upload: R2MultipartUpload) {}

  take = (err: unknown, data: Uint8Array, _final: boolean) => {
    if (err) this.failed = err;
    this.chunks.push(data);
    this.hashing.push(data);
    this.buffered += data.byteLength;
    this.size += data.byteLength;
  };

  /** Uploads every full part buffered (and, at the end, the rest). */
  async drain(end = false): Promise<void> {
    if (this.failed) throw this.failed;
    for (const h of this.hashing.splice(0)) await this.writer.write(h);
    while (this.buffered >= ARCHIVE_PART_BYTES || (end && this.buffered > 0)) {
      const n = Math.min(ARCHIVE_PART_BYTES, this.buffered);
      const part = new Uint8Array(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const take = Math.min(c.byteLength, n - at);
        part.set(c.subarray(0, take), at);
        at += take;
        if (take === c.byteLength) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
      this.buffered -= n;
      this.parts.push(await this.upload.uploadPart(this.parts.length + 1, part));
    }
  }

  async finish(): Promise<{ sha256: string }> {
    await this.drain(true);
    await this.writer.close();
    const sha256 = toHex(await this.digest.digest);
    await this.upload.complete(this.parts);
    return { sha256 };
  }
}

const encoder = new TextEncoder();

async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

/** A name safe in any unzip tool: no separators, no dot segments, at most 100 characters. */
function safeName(name: unknown): string {
  const s = String(name ?? "file")
    .replace(/[^\w.\- ]+/g, "_")
    .replace(/^\.+/, "_")
    .slice(0, 100);
  return s || "file";
}

function identityContext(requestId: string, org: string, service: string) {
  return {
    request_id: `privacy-${requestId}`,
    user_id: null,
    client_id: null,
    organization_id: org,
    roles: [],
    permissions: { [service]: ["read" as const] },
    system: true,
  };
}

/**
 * Builds the archive of one person and stores it in R2 under archiveKey (replacing one an
 * interrupted run left). Answers the stored archive and the services that could not be read (their
 * failures are in the manifest too: the archive says what it lacks).
 */
export async function buildArchive(env: Env, input: ArchiveInput): Promise<{ summary: ArchiveSummary; failures: ArchiveFailure[]; manifest: ManifestEntry[] }> {
  // fflate builds its tables when its module runs: loaded here, not at every isolate's start-up
  // (bench/README.md "Bundles and start-up"); only the privacy runner builds archives.
  const { Zip, ZipPassThrough } = await import("fflate");
  const key = archiveKey(input.org, input.requestId);
  const upload = await env.PRIVACY_ARCHIVES.createMultipartUpload(key, {
    httpMetadata: { contentType: "application/zip" },
    customMetadata: { organization_id: input.org, request_id: input.requestId },
  });
  const sink = new PartSink(upload);
  const zip = new Zip(sink.take);
  const manifest: ManifestEntry[] = [];
  const failures: ArchiveFailure[] = [];
  try {
    const addBytes = async (path: string, bytes: Uint8Array, meta: Omit<ManifestEntry, "path" | "bytes" | "sha256">) => {
      const entry = new ZipPassThrough(path);
      zip.add(entry);
      entry.push(bytes, true);
      manifest.push({ path, ...meta, bytes: bytes.byteLength, sha256: await sha256(bytes) });
      await sink.drain();
    };
    const addJson = (path: string, value: unknown, meta: Omit<ManifestEntry, "path" | "bytes" | "sha256">) =>
      addBytes(path, encoder.encode(JSON.stringify(value, null, 2)), meta);

    // The services: each model's records about the person, through the service's own contract.
    const caller = detachedCaller(env, `privacy-${input.requestId}`);
    const entries = serviceRegistry(env);
    const recordIds: string[] = [];
    for (const name of input.services) {
      const entry = entries.find((e) => e.name === name);
      if (!entry) continue;
      const linked: Record<string, string[]> = {};
      for (const [k, ids] of Object.entries(input.linked)) if (k.startsWith(`${name}.`)) linked[k.slice(name.length + 1)] = ids.slice(0, 100);
      const subject = { emails: input.emails, contact_ids: input.contactIds.slice(0, 100), user_ids: input.userIds.slice(0, 10), linked };
      const found = await meshCall<SubjectRecords[]>(caller, entry, "findBySubject", 30_000, (stub) =>
        stub.findBySubject(subject, identityContext(input.requestId, input.org, name)),
      );
      if (!found.ok) {
        failures.push({ service: name, problem: { status: found.error.status, title: found.error.title, detail: found.error.detail ?? null } });
        continue;
      }
      for (const m of found.data) {
        await addJson(
          `services/${name}/${m.model}.json`,
          { service: name, model: m.model, erasure: m.erasure, truncated: m.truncated, records: m.records },
          { kind: "records", service: name, model: m.model, count: m.records.length, ...(m.truncated ? { truncated: true } : {}) },
        );
        for (const r of m.records) recordIds.push(String(r.id));
        const bodyPath = BODIES[`${name}.${m.model}`];
        const stub = serviceBinding(env, entry);
        if (!bodyPath || !stub) continue;
        for (const r of m.records) {
          const id = String(r.id);
          const path = `files/${name}/${m.model}/${id}/${safeName(r.name)}`;
          const res = await withDeadline(name, entry.timeout_ms, () =>
            callService(stub, new Request(`https://${name}.internal${bodyPath(id)}`), identityContext(input.requestId, input.org, name)),
          ).catch(() => new Response(null, { status: 502 }));
          if (!res.ok || !res.body) {
            await res.body?.cancel();
            failures.push({ service: name, problem: { status: res.status, title: "File body unavailable", detail: `${m.model} ${id}` } });
            continue;
          }
          const length = Number(res.headers.get("content-length") ?? "0");
          if (sink.size + length > ARCHIVE_MAX_BYTES) {
            await res.body.cancel();
            failures.push({ service: name, problem: { status: 413, title: "Archive too large", detail: `${m.model} ${id} left out` } });
            continue;
          }
          const entryZ = new ZipPassThrough(path);
          zip.add(entryZ);
          const digest = new crypto.DigestStream("SHA-256");
          const w = digest.getWriter();
          let bytes = 0;
          const reader = res.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            bytes += value.byteLength;
            await w.write(value);
            entryZ.push(value, false);
            await sink.drain();
          }
          entryZ.push(new Uint8Array(0), true);
          await w.close();
          manifest.push({ path, kind: "file", service: name, model: m.model, record_id: id, bytes, sha256: toHex(await digest.digest) });
          await sink.drain();
        }
      }
    }

    // Identity: the account, memberships, sign-in history, second factors (no secrets).
    const identity = await identityRecords(env.DB, input.org, input.userIds);
    for (const [section, rows] of Object.entries(identity)) {
      await addJson(`identity/${section}.json`, rows, { kind: "identity", service: "gateway", model: section, count: rows.length });
    }

    // Their consent records (the gateway's own privacy.consents model): the whole history, oldest first.
    const consents = await env.DB.prepare(
      `SELECT id, contact_id, purpose, status, source, at, recorded_by, recorded_at FROM privacy_consents
         WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)) ORDER BY at, recorded_at, id LIMIT ?3`,
    )
      .bind(input.org, JSON.stringify(input.contactIds.slice(0, 100)), ARCHIVE_MAX_AUDIT_ENTRIES)
      .all();
    await addJson(
      "services/privacy/consents.json",
      { service: "privacy", model: "consents", records: consents.results },
      {
        kind: "records",
        service: "privacy",
        model: "consents",
        count: consents.results.length,
      },
    );

    // The audit entries and events about the person (their records, their email, their actions).
    const subjects = JSON.stringify([...new Set([...input.contactIds, ...recordIds, ...input.userIds])].slice(0, 2000));
    const needles = JSON.stringify(input.emails.filter((e) => e.length >= 3));
    const audit = await env.DB.prepare(
      `SELECT seq, event_id, time, service, type, subject, actor_type, actor_id, request_id, data, data_hash, hash, redacted_at
         FROM audit_entries WHERE organization_id = ?1
           AND (subject IN (SELECT value FROM json_each(?2)) OR EXISTS (SELECT 1 FROM json_each(?3) AS n WHERE instr(lower(data), n.value) > 0)
                OR actor_id IN (SELECT value FROM json_each(?4)))
         ORDER BY seq LIMIT ?5`,
    )
      .bind(input.org, subjects, needles, JSON.stringify(input.userIds), ARCHIVE_MAX_AUDIT_ENTRIES + 1)
      .all<Record<string, unknown> & { event_id: string; data: string }>();
    const auditRows = audit.results.slice(0, ARCHIVE_MAX_AUDIT_ENTRIES).map((r) => ({ ...r, data: JSON.parse(r.data) }));
    const auditTruncated = audit.results.length > ARCHIVE_MAX_AUDIT_ENTRIES;
    await addJson("events/audit_entries.json", auditRows, {
      kind: "audit",
      service: "gateway",
      model: "audit_entries",
      count: auditRows.length,
      ...(auditTruncated ? { truncated: true } : {}),
    });
    const events: unknown[] = [];
    const eventIds = auditRows.map((r) => r.event_id);
    for (let i = 0; i < eventIds.length; i += 500) {
      const { results } = await env.DB.prepare(
        "SELECT event FROM events WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2)) ORDER BY time, id",
      )
        .bind(input.org, JSON.stringify(eventIds.slice(i, i + 500)))
        .all<{ event: string }>();
      for (const e of results) events.push(JSON.parse(e.event));
    }
    await addJson("events/events.json", events, { kind: "events", service: "gateway", model: "events", count: events.length });

    // Last, the manifest: what every other entry holds, with its SHA-256.
    const created_at = nowIso();
    const manifestBytes = encoder.encode(
      JSON.stringify(
        {
          format: "buildly-privacy-archive/1",
          request_id: input.requestId,
          organization_id: input.org,
          subject: input.subject,
          created_at,
          complete: failures.length === 0,
          failures,
          entries: manifest,
        },
        null,
        2,
      ),
    );
    const last = new ZipPassThrough("manifest.json");
    zip.add(last);
    last.push(manifestBytes, true);
    zip.end();
    const { sha256: archiveHash } = await sink.finish();
    return { summary: { key, bytes: sink.size, sha256: archiveHash, entries: manifest.length + 1, created_at }, failures, manifest };
  } catch (err) {
    await upload.abort().catch(() => {});
    throw err;
  }
}

// Download links: `?expires=<unix seconds>&signature=<HMAC-SHA256 over org, request, expires>`,
// under a key derived from SIGNING_KEYS_SECRET. The signature binds the request's organization.

async function linkKey(secret: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("buildly-privacy-archive-links"), info: new Uint8Array() },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

const signed = (org: string, id: string, expires: number) => encoder.encode(`${org}\n${id}\n${expires}`);

export async function archiveLink(secret: string, org: string, id: string, now = Date.now()): Promise<{ url: string; expires_at: string }> {
  const expires = Math.floor(now / 1000) + ARCHIVE_LINK_SECONDS;
  const mac = await crypto.subtle.sign("HMAC", await linkKey(secret), signed(org, id, expires));
  return {
    url: `/v1/privacy/requests/${id}/archive?expires=${expires}&signature=${toBase64Url(mac)}`,
    expires_at: new Date(expires * 1000).toISOString(),
  };
}

export async function linkValid(secret: string, org: string, id: string, expires: number, signature: Uint8Array): Promise<boolean> {
  if (expires * 1000 < Date.now()) return false;
  return crypto.subtle.verify("HMAC", await linkKey(secret), signature, signed(org, id, expires));
}
