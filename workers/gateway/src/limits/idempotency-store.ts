import { DurableObject } from "cloudflare:workers";
import { inCallerSpan } from "@buildly/shared/service";

/** How long a stored response is replayed (the IETF idempotency-key draft suggests 24 h). */
export const RETENTION_MS = 24 * 3600 * 1000;
/** A request "in flight" longer than this is presumed dead (the gateway's longest deadline is 300 s). */
const IN_FLIGHT_TIMEOUT_MS = 330 * 1000;

export interface StoredResponse {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer;
}

interface Entry {
  fingerprint: string;
  state: "in_flight" | "done";
  started_at: number;
  /** The stored response without its body, which is kept in CHUNK-sized values. */
  response?: Omit<StoredResponse, "body"> & { chunks: number };
}

/** Storage values stay well under the Durable Object value-size limit. */
const CHUNK = 64 * 1024;

export type Begin = { state: "new" } | { state: "in_flight" } | { state: "mismatch" } | { state: "done"; response: StoredResponse };

/**
 * One Durable Object per (caller, Idempotency-Key): it serializes the first call and
 * its retries, so a duplicate never reaches the service, and forgets everything after 24 h.
 */
export class IdempotencyStore extends DurableObject<Env> {
  private entry(): Entry | undefined {
    return this.ctx.storage.kv.get<Entry>("entry");
  }

  /*
   * Each method takes the caller's span (`trace`, a W3C traceparent) as its last argument, sent
   * only while the caller's telemetry records: the call is then a server span of that trace.
   */

  begin(fingerprint: string, trace?: string): Begin {
    if (trace) return inCallerSpan(this.env, this.ctx, "gateway", trace, "IdempotencyStore begin", {}, () => this.begin(fingerprint));
    const now = Date.now();
    const e = this.entry();
    if (e) {
      if (e.fingerprint !== fingerprint) return { state: "mismatch" };
      if (e.state === "done" && e.response) return { state: "done", response: this.load(e.response) };
      if (now - e.started_at < IN_FLIGHT_TIMEOUT_MS) return { state: "in_flight" };
    }
    this.ctx.storage.kv.put<Entry>("entry", { fingerprint, state: "in_flight", started_at: now });
    void this.ctx.storage.setAlarm(now + RETENTION_MS);
    return { state: "new" };
  }

  complete(fingerprint: string, response: StoredResponse, trace?: string): void {
    if (trace) {
      inCallerSpan(this.env, this.ctx, "gateway", trace, "IdempotencyStore complete", {}, () => this.complete(fingerprint, response));
      return;
    }
    const e = this.entry();
    if (!e || e.fingerprint !== fingerprint) return;
    const bytes = new Uint8Array(response.body);
    const chunks = Math.ceil(bytes.byteLength / CHUNK);
    for (let i = 0; i < chunks; i++) this.ctx.storage.kv.put(`body:${i}`, bytes.slice(i * CHUNK, (i + 1) * CHUNK));
    this.ctx.storage.kv.put<Entry>("entry", { ...e, state: "done", response: { status: response.status, headers: response.headers, chunks } });
  }

  private load(meta: NonNullable<Entry["response"]>): StoredResponse {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < meta.chunks; i++) {
      const part = this.ctx.storage.kv.get<Uint8Array>(`body:${i}`) ?? new Uint8Array();
      parts.push(part);
      total += part.byteLength;
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      body.set(p, offset);
      offset += p.byteLength;
    }
    return { status: meta.status, headers: meta.headers, body: body.buffer };
  }

  /** The first call failed without an answer worth keeping: a retry may run it again. */
  release(fingerprint: string, trace?: string): void {
    if (trace) {
      inCallerSpan(this.env, this.ctx, "gateway", trace, "IdempotencyStore release", {}, () => this.release(fingerprint));
      return;
    }
    const e = this.entry();
    if (e && e.fingerprint === fingerprint && e.state === "in_flight") this.ctx.storage.kv.delete("entry");
  }

  async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
