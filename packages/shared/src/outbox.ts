import type { IdentityContext } from "./context";
import type { EventActor, PlatformEvent, PlatformEventSchema } from "./events";
import { loadOnce } from "./load-once";
import type { Telemetry } from "./telemetry";
import { parseTraceparent } from "./telemetry/trace-context";

/**
 * The transactional outbox every Worker with a D1 shares (see docs/events-and-audit.md).
 *
 * Each Worker's D1 holds an `outbox` table. The event row is written in the SAME D1 batch as the
 * change it describes, so a write that rolls back leaves no event and a committed write always
 * has one. After the write a relay (ctx.waitUntil) moves unrelayed rows to the `buildly-events`
 * queue and marks them relayed; a cron sweep does the same for rows a relay left behind (the
 * Worker was evicted, the queue refused). Delivery is therefore at least once; the consumer
 * deduplicates by event id.
 *
 * In the logic services the rows are written by SQLite triggers on each model's table (so no
 * write path can forget its event), which read who acts from the one-row `event_context` table:
 * `eventDatabase()` wraps the Worker's D1 so that every batch that writes starts by filling
 * that row and ends by emptying it, inside the same transaction. A write made without the
 * wrapper (a seed, a migration, a purge by the cron) has no context and produces no event.
 */

/**
 * How a compensating write's events are told apart without another column in every service's
 * outbox and trigger: the request id the triggers copy from `event_context` carries this suffix,
 * and `rowToEvent` turns it back into the plain request id plus `compensated: true`.
 */
const COMPENSATION_SUFFIX = " compensation";
/**
 * The same trick carries the writing span's traceparent (only when telemetry records):
 * `<request id> tp=<traceparent>[ compensation]`. It never reaches an event's `requestid`.
 */
const TRACE_MARK = " tp=";

/** The stored request id split into the event's `requestid`, its compensation mark and the trace context of the write. */
export function splitStoredRequestId(stored: string | null): { requestid: string | null; compensated: boolean; traceparent?: string } {
  if (stored === null) return { requestid: null, compensated: false };
  const compensated = stored.endsWith(COMPENSATION_SUFFIX);
  let rest = compensated ? stored.slice(0, -COMPENSATION_SUFFIX.length) : stored;
  const mark = rest.lastIndexOf(TRACE_MARK);
  let traceparent: string | undefined;
  if (mark >= 0) {
    const tp = rest.slice(mark + TRACE_MARK.length);
    if (parseTraceparent(tp)) traceparent = tp;
    rest = rest.slice(0, mark);
  }
  return { requestid: rest, compensated, ...(traceparent ? { traceparent } : {}) };
}

/** A request id as an outbox row stores it with the writing span's traceparent (for outboxes written without the triggers, e.g. the gateway's). */
export function requestIdWithTrace(requestid: string | null, traceparent: string | undefined): string | null {
  return requestid && traceparent ? requestid + TRACE_MARK + traceparent : requestid;
}

function storedRequestId(actor: EventActor): string | null {
  if (!actor.requestid) return actor.requestid;
  return actor.requestid + (actor.traceparent ? TRACE_MARK + actor.traceparent : "") + (actor.compensation ? COMPENSATION_SUFFIX : "");
}

export function eventSource(service: string): string {
  return `/buildly/${service}`;
}

/** The actor of a call as the gateway described it: an API client, a user, or the platform itself. */
export function actorFromIdentity(
  service: string,
  identity: Pick<IdentityContext, "user_id" | "request_id"> & { system?: boolean; client_id?: string | null; compensation?: boolean },
): EventActor {
  const source = eventSource(service);
  const marks = identity.compensation ? { compensation: true } : {};
  if (identity.client_id) return { source, actortype: "client", actorid: identity.client_id, requestid: identity.request_id, ...marks };
  if (identity.user_id && !identity.system) return { source, actortype: "user", actorid: identity.user_id, requestid: identity.request_id, ...marks };
  return { source, actortype: "system", actorid: null, requestid: identity.request_id, ...marks };
}

const OUTBOX_COLUMNS = "id, type, source, subject, organization_id, actor_type, actor_id, request_id, time, data";

/**
 * INSERT of one event into the outbox, to put in the same `db.batch([...])` as the change.
 * `onlyIfChanged`: the row goes in only if the statement just before it in the batch changed a
 * row (SQLite's changes()), for conditional updates whose outcome is known only inside the batch.
 */
export function outboxStatement(d1: D1Database, event: PlatformEvent, options: { onlyIfChanged?: boolean } = {}): D1PreparedStatement {
  const where = options.onlyIfChanged ? " WHERE changes() > 0" : "";
  return d1
    .prepare(`INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10${where}`)
    .bind(
      event.id,
      event.type,
      event.source,
      event.subject,
      event.organizationid,
      event.actortype,
      event.actorid,
      event.requestid,
      event.time,
      JSON.stringify(event.data),
    );
}

// --- the context that the services' triggers read -------------------------------------------

const WRITE_SQL = /^\s*(insert|update|delete|replace|with)\b/i;

function contextStatements(d1: D1Database, actor: EventActor): [D1PreparedStatement, D1PreparedStatement] {
  return [
    d1
      .prepare("INSERT OR REPLACE INTO event_context (k, source, actor_type, actor_id, request_id) VALUES (1, ?1, ?2, ?3, ?4)")
      .bind(actor.source, actor.actortype, actor.actorid, storedRequestId(actor)),
    d1.prepare("DELETE FROM event_context"),
  ];
}

/** A prepared statement that writes: the wrapper runs it with the context around it. */
class ContextStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly owner: EventDatabase,
  ) {}

  bind(...values: unknown[]): ContextStatement {
    return new ContextStatement(this.inner.bind(...values), this.owner);
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.owner.single<T>(this.inner);
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.owner.single<T>(this.inner);
  }

  async first<T = unknown>(column?: string): Promise<T | null> {
    const row = (await this.owner.single<Record<string, unknown>>(this.inner)).results[0];
    if (!row) return null;
    return (column === undefined ? row : (row[column] ?? null)) as T | null;
  }

  async raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    // A batch answers objects; drizzle reads batch results the same way (Object.values).
    const rows = (await this.owner.single<Record<string, unknown>>(this.inner)).results;
    const values = rows.map((r) => Object.values(r)) as T[];
    return options?.columnNames ? ([Object.keys(rows[0] ?? {}), ...values] as unknown as T[]) : values;
  }
}

/**
 * The D1 a request's code sees: every batch (or single statement) that writes runs as
 * [fill event_context, ...statements, empty event_context] in one transaction and one round
 * trip; a relay window (scheduleRelay) sends the rows the triggers wrote after the response.
 * Reads go straight through.
 */
class EventDatabase {
  constructor(
    readonly inner: D1Database,
    private readonly actor: EventActor,
    private readonly env: OutboxEnv,
    private readonly waitUntil: (p: Promise<unknown>) => void,
    private readonly telemetry?: Telemetry,
  ) {}

  prepare(query: string): ContextStatement | D1PreparedStatement {
    // A read is the binding's own statement: only a write needs the context around it.
    const stmt = this.inner.prepare(query);
    return WRITE_SQL.test(query) ? new ContextStatement(stmt, this) : stmt;
  }

  async single<T>(stmt: D1PreparedStatement): Promise<D1Result<T>> {
    return (await this.writing<T>([stmt]))[0]!;
  }

  async batch<T = unknown>(statements: (D1PreparedStatement | ContextStatement)[]): Promise<D1Result<T>[]> {
    const inner = statements.map((s) => (s instanceof ContextStatement ? s.inner : s));
    const writes = statements.some((s) => s instanceof ContextStatement);
    return writes ? this.writing<T>(inner) : this.inner.batch<T>(inner);
  }

  private async writing<T>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    // Traced: the write is an `outbox write` producer span, whose context the events carry to the queue.
    const tel = this.telemetry?.recording ? this.telemetry : undefined;
    const span = tel?.span("outbox write", {
      kind: "producer",
      attributes: { "messaging.system": "cloudflare_queues", "messaging.destination.name": "buildly-events" },
    });
    const actor = tel && span ? { ...this.actor, traceparent: tel.traceparent(span) } : this.actor;
    try {
      return await this.writingAs<T>(statements, actor);
    } finally {
      span?.end();
    }
  }

  private async writingAs<T>(statements: D1PreparedStatement[], actor: EventActor): Promise<D1Result<T>[]> {
    const [set, clear] = contextStatements(this.inner, actor);
    const results = await this.inner.batch<T>([set, ...statements, clear]);
    // The rows the triggers wrote are committed with the change; a relay window sends them.
    scheduleRelay(this.env, this.waitUntil);
    return results.slice(1, statements.length + 1);
  }

  exec(query: string): Promise<D1ExecResult> {
    return this.inner.exec(query);
  }

  dump(): Promise<ArrayBuffer> {
    return (this.inner as unknown as { dump(): Promise<ArrayBuffer> }).dump();
  }

  withSession(constraint?: string): D1DatabaseSession {
    return this.inner.withSession(constraint as never);
  }
}

/**
 * The end of a writing batch: the statements that claim the new outbox rows (and carry the sent
 * marks waiting to be written, see SentMarks), and `relay(results)`, to call with the batch's
 * results for those statements, which sends the claimed rows through the shared window
 * (RELAY_COALESCE_MS) and answers how many it claimed. `failed()` if the batch threw: the marks
 * it carried are given back. Writers that put event rows in a batch of their own end it with this
 * (the gateway's workflow objects, with the index update); eventDatabase's writes leave the claim
 * to a relay window instead (scheduleRelay). With no queue bound, or the outbox off, there is
 * nothing to claim.
 */
export function claimInBatch(
  env: OutboxEnv,
  source: string,
  waitUntil: (p: Promise<unknown>) => void,
): { statements: D1PreparedStatement[]; relay(results: D1Result[]): number; failed(): void } {
  if (!env.EVENTS || !eventsEnabled(env)) return { statements: [], relay: () => 0, failed: () => undefined };
  const queue = env.EVENTS;
  const now = new Date().toISOString();
  const marks = sentMarksOf(queue).take();
  const statements = [env.DB.prepare(CLAIM_NEW_SQL).bind(now)];
  if (marks.length) statements.push(markStatement(env.DB, now, marks));
  return {
    statements,
    relay(results) {
      const claimed = (results[0]?.results ?? []) as unknown as OutboxRow[];
      if (claimed.length) {
        const opened = relaySoon(env, source, claimed);
        if (opened) waitUntil(opened);
      }
      return claimed.length;
    },
    failed() {
      if (marks.length) waitUntil(sentMarksOf(queue).hand(env.DB, marks));
    },
  };
}

export interface OutboxEnv {
  DB: D1Database;
  EVENTS?: Queue;
  /** "off" switches the outbox off (only the benchmark sets it). */
  EVENTS_OUTBOX?: string;
}

export function eventsEnabled(env: OutboxEnv): boolean {
  return env.EVENTS_OUTBOX !== "off";
}

/**
 * `env.DB` as a request's handlers should see it: writes carry `actor` to the outbox triggers,
 * and the events they produce are claimed in the same batch and sent to the queue after it
 * (`waitUntil`, so the client does not wait).
 */
export function eventDatabase(env: OutboxEnv, actor: EventActor, waitUntil: (p: Promise<unknown>) => void, telemetry?: Telemetry): D1Database {
  if (!eventsEnabled(env)) return env.DB;
  return new EventDatabase(env.DB, actor, env, waitUntil, telemetry) as unknown as D1Database;
}

const OUTBOX_ROW_COLUMNS = "seq, id, type, source, subject, organization_id, actor_type, actor_id, request_id, time, data";

/** The last statement of a writing batch: claims the rows its triggers just wrote (and any other unclaimed ones). */
const CLAIM_NEW_SQL = `UPDATE outbox SET claimed_at = ?1 WHERE seq IN (
  SELECT seq FROM outbox WHERE relayed_at IS NULL AND claimed_at IS NULL ORDER BY seq LIMIT 100
) RETURNING ${OUTBOX_ROW_COLUMNS}`;

/** Marks sent rows relayed, by id (the outbox's unique index): a mark can only ever reach the row that was sent. */
function markStatement(d1: D1Database, now: string, ids: string[]): D1PreparedStatement {
  return d1.prepare("UPDATE outbox SET relayed_at = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND relayed_at IS NULL").bind(now, JSON.stringify(ids));
}

/**
 * How long a send's marks wait for a later claim to carry them before the sender writes them in a
 * statement of its own. The sender holds its waitUntil that long at most: it looks every
 * MARKS_CHECK_MS and ends as soon as a claim has carried all of them.
 */
export const MARKS_WAIT_MS = 500;
const MARKS_CHECK_MS = 100;
/** The most ids one batch carries (one json_each parameter); the rest wait for the next claim or their sender. */
export const MARKS_PER_BATCH = 1000;

/** Who answers for a group of sent marks until a claim carries them: its sender, or the owner of a failed batch that gave them back. */
interface MarksFlush {
  left: number;
}

/**
 * Sent marks: the ids of the rows this isolate has sent to the queue and not yet marked relayed,
 * for one queue binding (so one D1: one Worker's queue binding goes with one D1, as for the relay
 * windows). The one mechanism for marking sent rows, after their send succeeded and never before:
 * - carried: the next batch that claims outbox rows of the same D1 (a relay window's claim, or a
 *   writing batch ended by claimInBatch) takes them (`take`, at most MARKS_PER_BATCH) and marks
 *   them in the same D1 call, with no round trip of its own;
 * - flushed: when no claim has carried them within MARKS_WAIT_MS, whoever handed them in
 *   (`hand`: the sender) marks those left in one statement;
 * - given back: a batch that carried marks and failed hands them in again (the batch's owner then
 *   answers for them, as their sender did).
 * An isolate that goes away with marks pending, or a flush that fails, leaves the rows claimed and
 * unmarked: the sweep sends them again once the claim is CLAIM_TIMEOUT_MS old, and the consumer
 * drops the duplicate. Plain strings, so sharing them between requests is safe.
 */
class SentMarks {
  /** id -> the flush that answers for it; in the order handed in, so the oldest are carried first. */
  private readonly pending = new Map<string, MarksFlush>();

  get size(): number {
    return this.pending.size;
  }

  take(): string[] {
    const ids: string[] = [];
    for (const [id, flush] of this.pending) {
      if (ids.length >= MARKS_PER_BATCH) break;
      this.pending.delete(id);
      flush.left--;
      ids.push(id);
    }
    return ids;
  }

  /** Hands in the ids of sent rows; resolves once a claim has carried them all, or after MARKS_WAIT_MS when it has marked the rest itself. */
  async hand(d1: D1Database, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const flush: MarksFlush = { left: 0 };
    for (const id of ids) {
      const before = this.pending.get(id);
      if (before) before.left--;
      this.pending.set(id, flush);
      flush.left++;
    }
    // Timers of this request only (a wake-up from another request's promise would cross request contexts).
    for (let waited = 0; waited < MARKS_WAIT_MS && flush.left > 0; waited += MARKS_CHECK_MS) {
      await new Promise((r) => setTimeout(r, MARKS_CHECK_MS));
    }
    if (flush.left === 0) return;
    const left: string[] = [];
    for (const [id, owner] of this.pending) if (owner === flush) left.push(id);
    for (const id of left) this.pending.delete(id);
    flush.left = 0;
    try {
      for (let i = 0; i < left.length; i += MARKS_PER_BATCH) await markStatement(d1, new Date().toISOString(), left.slice(i, i + MARKS_PER_BATCH)).run();
    } catch (err) {
      // Left claimed and unmarked: the sweep sends them again after CLAIM_TIMEOUT_MS (a duplicate the consumer drops).
      console.error(JSON.stringify({ level: "error", msg: "outbox marks failed", error: String(err) }));
    }
  }
}

const sentMarksByQueue = new WeakMap<Queue, SentMarks>();

function sentMarksOf(queue: Queue): SentMarks {
  let marks = sentMarksByQueue.get(queue);
  if (!marks) {
    marks = new SentMarks();
    sentMarksByQueue.set(queue, marks);
  }
  return marks;
}

/** How many sent rows of this queue binding wait for their mark (for tests). */
export function pendingMarks(queue: Queue): number {
  return sentMarksByQueue.get(queue)?.size ?? 0;
}

/**
 * How long the relay waits for other writes in this isolate before one queue send carries them
 * all. One sendBatch per write cost about a quarter of write throughput (bench:events: 28%; a
 * 25 ms window 20%, 100 ms 11%, medians of three rounds); the window adds at most its length to
 * an event's delivery, which the queue's own batching (up to a second) dwarfs. The write that
 * opens a window holds it with its waitUntil (the window's timer and send run in that request's
 * context, so only that request can keep them going); the writes that join it add their rows and
 * nothing else: a waitUntil of theirs on the same promise kept nothing alive that the opener's
 * did not, and cost a fifth of the outbox's CPU per write (bench/events/profile.sh). Rows are
 * already claimed in D1, so an isolate that goes away first leaves them to the sweep.
 */
export const RELAY_COALESCE_MS = 100;

type RelayWindow = { rows: OutboxRow[]; done: Promise<void> };
/** Open windows per queue binding and source: rows only ever share a send through the same queue. */
const relayWindowsByQueue = new WeakMap<Queue, Map<string, RelayWindow>>();

/** Adds claimed rows to the open window (or opens one); answers the window's promise only when this call opened it. */
function relaySoon(env: OutboxEnv, source: string, rows: OutboxRow[]): Promise<void> | undefined {
  const queue = env.EVENTS!;
  let relayWindows = relayWindowsByQueue.get(queue);
  if (!relayWindows) {
    relayWindows = new Map();
    relayWindowsByQueue.set(queue, relayWindows);
  }
  const windows = relayWindows;
  const open = windows.get(source);
  if (open && open.rows.length + rows.length <= RELAY_BATCH) {
    open.rows.push(...rows);
    return undefined;
  }
  const opened: RelayWindow = { rows: [...rows], done: Promise.resolve() };
  opened.done = (async () => {
    await new Promise((r) => setTimeout(r, RELAY_COALESCE_MS));
    if (windows.get(source) === opened) windows.delete(source);
    await sendClaimed(env, source, opened.rows);
  })();
  windows.set(source, opened);
  return opened.done;
}

/**
 * The queue bindings with a window open. Keyed by the queue, not the D1: a logic service's
 * requests each see their own D1 session object (d1-session.ts), while the queue binding is the
 * isolate's one, and one Worker's queue binding goes with one D1.
 */
const openRelays = new WeakSet<Queue>();
/** The windows not yet done, for outboxRelaysSettled(). */
const runningRelays = new Set<Promise<void>>();

/**
 * Resolves once every relay window this isolate has opened is done. For tests: a window takes
 * every unrelayed row of its D1, so a test that watches one write's relay first lets the windows
 * of earlier writes finish.
 */
export async function outboxRelaysSettled(): Promise<void> {
  while (runningRelays.size) await Promise.allSettled([...runningRelays]);
}

/**
 * The services' relay (eventDatabase): a write that commits opens a window for its Worker's queue
 * (and so its D1) unless one is open, and holds it with its waitUntil; after RELAY_COALESCE_MS the window
 * claims and sends the outbox's unrelayed rows (relayWindow: one claim per RELAY_BATCH rows,
 * however many writes wrote them), until fewer than RELAY_BATCH are left (at most SWEEP_MAX_RUNS
 * times). A write adds no statement to its batch for the relay and no work after it when a window
 * is open. The window leaves openRelays before its first claim, so a write that commits after the
 * claim opens the next window, and one that committed before it is in the claim. The claim is
 * atomic in D1, so two isolates' windows never send the same row (a relay that fails leaves its
 * rows claimed for the sweep, after CLAIM_TIMEOUT_MS); an isolate that goes away before its window
 * runs leaves its rows unclaimed, for the next window in any isolate or the sweep
 * (SWEEP_MIN_AGE_MS). bench:events: a claim in every write's batch cost more than the send.
 *
 * The sent rows' marks (SentMarks) are carried by the next claim of the same D1, a later window's
 * or a claimInBatch writer's, in its batch (one D1 call a window instead of a claim and a mark),
 * or written by the window that sent them when no claim follows within MARKS_WAIT_MS.
 */
function scheduleRelay(env: OutboxEnv, waitUntil: (p: Promise<unknown>) => void): void {
  const queue = env.EVENTS;
  if (!queue) return;
  if (openRelays.has(queue)) return;
  openRelays.add(queue);
  const run = (async () => {
    try {
      await new Promise((r) => setTimeout(r, RELAY_COALESCE_MS));
    } finally {
      openRelays.delete(queue);
    }
    // The marks this window answers for (the rows it sent, or marks its failed claim gave back).
    const handed: Promise<void>[] = [];
    try {
      for (let i = 0; i < SWEEP_MAX_RUNS; i++) if ((await relayWindow(env, queue, handed)) < RELAY_BATCH) break;
    } catch (err) {
      // Claimed and unsent rows wait for the sweep (CLAIM_TIMEOUT_MS); unclaimed ones for the next window.
      console.error(JSON.stringify({ level: "error", msg: "outbox relay failed", error: String(err) }));
    }
    await Promise.all(handed);
  })().finally(() => runningRelays.delete(run));
  runningRelays.add(run);
  waitUntil(run);
}

/** One claim of a window, carrying the sent marks; answers how many rows it claimed (and sent). */
async function relayWindow(env: OutboxEnv, queue: Queue, handed: Promise<void>[]): Promise<number> {
  const marks = sentMarksOf(queue);
  const carried = marks.take();
  const now = Date.now();
  const claim = claimStatement(env.DB, now, "9999");
  let rows: OutboxRow[];
  try {
    rows = carried.length
      ? ((await env.DB.batch([markStatement(env.DB, new Date(now).toISOString(), carried), claim]))[1]!.results as unknown as OutboxRow[])
      : (await claim.all<OutboxRow>()).results;
  } catch (err) {
    handed.push(marks.hand(env.DB, carried));
    throw err;
  }
  if (rows.length === 0) return 0;
  await sendRows(queue, rows);
  handed.push(
    marks.hand(
      env.DB,
      rows.map((r) => r.id),
    ),
  );
  return rows.length;
}

async function sendClaimed(env: OutboxEnv, source: string, rows: OutboxRow[]): Promise<void> {
  try {
    await sendRows(env.EVENTS!, rows);
  } catch (err) {
    // Left claimed: the sweep sends them again once the claim is CLAIM_TIMEOUT_MS old.
    console.error(JSON.stringify({ level: "error", msg: "outbox relay failed", source, error: String(err) }));
    return;
  }
  await sentMarksOf(env.EVENTS!).hand(
    env.DB,
    rows.map((r) => r.id),
  );
}

// --- relay and sweep -------------------------------------------------------------------------

/** Rows moved per relay run; a queue batch holds at most 100 messages. */
export const RELAY_BATCH = 100;
/** A row claimed by a relay that has not marked it relayed after this long is claimed again. */
export const CLAIM_TIMEOUT_MS = 30_000;
/** The sweep leaves rows younger than this to the relay that their write scheduled. */
export const SWEEP_MIN_AGE_MS = 5_000;
/** The sweep's bound per run (SWEEP_MAX_RUNS x RELAY_BATCH rows). */
export const SWEEP_MAX_RUNS = 10;
/** Relayed rows are kept this long (for inspection), then deleted by the sweep. */
export const RELAYED_RETENTION_MS = 7 * 24 * 3600_000;
/** The largest `data` a queue message carries (a message holds at most 128 KB); above it, `{ id, truncated: true }`. */
export const MAX_EVENT_DATA_BYTES = 64 * 1024;
/** A queue message holds at most 128 KB: one carries events up to this size, and at most MESSAGE_EVENTS of them. */
const MESSAGE_BYTES = 100 * 1024;
const MESSAGE_EVENTS = 100;
/** sendBatch allows 256 KB in all; a chunk stays under this. */
const SEND_CHUNK_BYTES = 200 * 1024;

interface OutboxRow {
  seq: number;
  id: string;
  type: string;
  source: string;
  subject: string;
  organization_id: string;
  actor_type: string;
  actor_id: string | null;
  request_id: string | null;
  time: string;
  data: string;
}

/** events.ts (its schemas) loads on the first relay, not when a service starts. */
const loadEvents = loadOnce(() => import("./events"));

function rowToEvent(schema: typeof PlatformEventSchema, row: OutboxRow, traces?: Record<string, string>): PlatformEvent | undefined {
  const stored = splitStoredRequestId(row.request_id);
  let data: Record<string, unknown>;
  try {
    data = row.data.length > MAX_EVENT_DATA_BYTES ? { id: row.subject, truncated: true } : JSON.parse(row.data);
  } catch {
    data = { id: row.subject, truncated: true };
  }
  const parsed = schema.safeParse({
    specversion: "1.0",
    id: row.id,
    source: row.source,
    type: row.type,
    time: row.time,
    subject: row.subject,
    datacontenttype: "application/json",
    organizationid: row.organization_id,
    actortype: row.actor_type,
    actorid: row.actor_id,
    requestid: stored.requestid,
    ...(stored.compensated ? { compensated: true } : {}),
    data,
  });
  if (parsed.success && stored.traceparent && traces) traces[row.id] = stored.traceparent;
  return parsed.success ? parsed.data : undefined;
}

/**
 * Sends outbox rows to the queue, one message per event (`{ events: [event] }`), in sendBatch
 * calls under the 256 KB limit. A row that is not a valid event (it cannot happen through the
 * triggers or buildEvent) is logged and counted, not sent, so it cannot block the outbox.
 */
async function sendRows(queue: Queue, rows: OutboxRow[]): Promise<{ sent: number; invalid: number }> {
  const { PlatformEventSchema } = await loadEvents();
  const sorted = [...rows].sort((a, b) => a.seq - b.seq);
  const messages: { body: { events: PlatformEvent[]; traces?: Record<string, string> }; size: number }[] = [];
  const invalid: number[] = [];
  // Several events to a message (the consumer takes each message's events together anyway):
  // fewer messages for the queue to carry and the consumer to ack.
  let current: (typeof messages)[number] | undefined;
  for (const row of sorted) {
    const traces: Record<string, string> = {};
    const event = rowToEvent(PlatformEventSchema, row, traces);
    if (!event) {
      invalid.push(row.seq);
      continue;
    }
    const size = JSON.stringify(event).length + 16;
    if (!current || current.size + size > MESSAGE_BYTES || current.body.events.length >= MESSAGE_EVENTS) {
      current = { body: { events: [] }, size: 64 };
      messages.push(current);
    }
    current.body.events.push(event);
    current.size += size;
    // The write's trace context, by event id: the consumer's span continues that trace.
    const tp = traces[event.id];
    if (tp) {
      current.body.traces = { ...current.body.traces, [event.id]: tp };
      current.size += 90;
    }
  }
  if (invalid.length) console.error(JSON.stringify({ level: "error", msg: "outbox rows that are not valid events", seqs: invalid }));
  let sent = 0;
  let chunk: typeof messages = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    await queue.sendBatch(chunk.map((m) => ({ body: m.body, contentType: "json" as const })));
    sent += chunk.reduce((n, m) => n + m.body.events.length, 0);
    chunk = [];
    chunkBytes = 0;
  };
  for (const m of messages) {
    if (chunkBytes + m.size > SEND_CHUNK_BYTES) await flush();
    chunk.push(m);
    chunkBytes += m.size;
  }
  await flush();
  return { sent, invalid: invalid.length };
}

/** Claims up to RELAY_BATCH unrelayed rows written at or before `createdBefore` that no one claimed in the last CLAIM_TIMEOUT_MS. */
function claimStatement(d1: D1Database, now: number, createdBefore: string): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE outbox SET claimed_at = ?1 WHERE seq IN (
         SELECT seq FROM outbox WHERE relayed_at IS NULL AND time <= ?2 AND (claimed_at IS NULL OR claimed_at < ?3) ORDER BY seq LIMIT ?4
       ) RETURNING ${OUTBOX_ROW_COLUMNS}`,
    )
    .bind(new Date(now).toISOString(), createdBefore, new Date(now - CLAIM_TIMEOUT_MS).toISOString(), RELAY_BATCH);
}

export interface RelayReport {
  claimed: number;
  sent: number;
  invalid: number;
}

/**
 * The sweep's relay: claims up to RELAY_BATCH unrelayed rows older than `minAgeMs` that no one
 * claimed in the last CLAIM_TIMEOUT_MS, sends them to env.EVENTS and marks them relayed. A send
 * that throws leaves them claimed, for a later run.
 */
export async function relayOutbox(env: OutboxEnv, options: { minAgeMs?: number; now?: number } = {}): Promise<RelayReport> {
  const report: RelayReport = { claimed: 0, sent: 0, invalid: 0 };
  if (!env.EVENTS || !eventsEnabled(env)) return report;
  const now = options.now ?? Date.now();
  // The relay right after a write takes every row (no clock comparison with D1's); the sweep only older ones.
  const createdBefore = options.minAgeMs ? new Date(now - options.minAgeMs).toISOString() : "9999";
  const claimed = await claimStatement(env.DB, now, createdBefore).all<OutboxRow>();
  const rows = claimed.results;
  report.claimed = rows.length;
  if (rows.length === 0) return report;
  const sent = await sendRows(env.EVENTS, rows);
  report.sent = sent.sent;
  report.invalid = sent.invalid;
  await markStatement(
    env.DB,
    new Date().toISOString(),
    rows.map((r) => r.id),
  ).run();
  return report;
}

export interface SweepReport {
  runs: number;
  sent: number;
  deleted: number;
}

/** The cron's part: relays rows left behind (bounded: SWEEP_MAX_RUNS relays) and deletes old relayed rows. */
export async function sweepOutbox(env: OutboxEnv, options: { now?: number } = {}): Promise<SweepReport> {
  const report: SweepReport = { runs: 0, sent: 0, deleted: 0 };
  if (!env.EVENTS || !eventsEnabled(env)) return report;
  for (let i = 0; i < SWEEP_MAX_RUNS; i++) {
    const r = await relayOutbox(env, { minAgeMs: SWEEP_MIN_AGE_MS, now: options.now });
    report.runs++;
    report.sent += r.sent;
    if (r.claimed < RELAY_BATCH) break;
  }
  const cutoff = new Date((options.now ?? Date.now()) - RELAYED_RETENTION_MS).toISOString();
  const deleted = await env.DB.prepare(
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < ?1 ORDER BY seq LIMIT 1000)",
  )
    .bind(cutoff)
    .run();
  report.deleted = deleted.meta.changes;
  return report;
}
