import { DurableObject } from "cloudflare:workers";
import {
  ApiError,
  encodeCursor,
  logError,
  nowIso,
  problemResponse,
  type RpcResult,
  Telemetry,
  telemetryConfig,
  toApiError,
  type TraceContext,
} from "@buildly/shared";
import { transitionEvent } from "../events/workflow-events";
import { effectivePermissions, organizationRoles, WORKFLOWS } from "../identity/rbac";
import { principalState } from "../identity/principal-status";
import { grantRevoked } from "../identity/signin/codes";
import type { Principal } from "../identity/tokens";
import { actionKey, fill, runServiceAction, type ActionScope, type Undo } from "./actions";
import type { Caller } from "./access";
import { childrenDoneTransition, type TemplateSnapshot } from "./definition";
import { indexerName } from "./indexer";
import { deleteIndexRow, type IndexUpdate, readIndexRow, writeIndexUpdates } from "./instance-index";
import type { ActionOutcome, Actor, Child, HistoryEntry, InstanceView, Subject, TransitionDef, TransitionRequest, Viewer } from "./schemas";
import { checkDataSize, childId, startInstance } from "./start";
import { getTemplate, snapshotOf } from "./templates";

export interface InitParams {
  id: string;
  organization_id: string;
  template: TemplateSnapshot;
  subject: Subject | null;
  data: Record<string, unknown>;
  parent_id: string | null;
  created_by: Actor;
  created_at: string;
  request_id: string | null;
}

interface Instance {
  id: string;
  organization_id: string;
  template: TemplateSnapshot;
  state: string;
  version: number;
  data: Record<string, unknown>;
  subject: Subject | null;
  parent_id: string | null;
  created_by: Actor;
  created_at: string;
  updated_at: string;
  /** Epoch ms when the current state times out, or null. */
  timeout_at: number | null;
  /**
   * The highest version written to the D1 index (with its transitions' events), and told to the
   * parent. The index's is read back from storage (EVENTED_VERSION) when the object starts, so an
   * object that stopped before its index write knows it is behind; the parent's is kept in memory
   * only (0 after a restart means "tell again", which the version-guarded writes make harmless).
   * The alarm set with each transition is what makes sure either catches up.
   */
  index_version: number;
  parent_version: number;
}

const SYSTEM: Actor = { type: "system", id: null };
type IndexVia = "direct" | "indexer";
/**
 * Storage key: a history version whose transition event (and every one before it) is in the
 * gateway's outbox, with an index row at that version or newer. Written after the D1 batch that
 * put it there: at once when the object wrote the batch itself, else (through the indexer) with
 * the object's next storage write (a transition's commit, the alarm), so it may lag what D1 holds
 * by the last few transitions. Below the instance's version: the history rows above it are what
 * the index and the outbox must still be told (again, if it lags: nothing is added twice).
 */
const EVENTED_VERSION = "evented_version";
/** Transitions waiting their turn on one instance, beyond which callers get 503. */
const MAX_QUEUE = 1000;
export const MAX_CHILDREN = 100;
const MAX_WATCHERS = 200;
/**
 * Transitions the instance may take by itself (timeouts, children finishing) one after another
 * with no person's between; then it stops moving by itself until a person takes one. Templates
 * whose states loop by themselves are refused (definition.ts), so this holds back only ones
 * stored before that check; an acyclic chain of at most 50 states always fits.
 */
export const MAX_SYSTEM_STREAK = 50;
/** If keeping the index or the parent in step fails, the alarm tries again this much later. */
const SYNC_RETRY_MS = 5_000;
/**
 * A transition sets the alarm at most this far ahead (unless it is set earlier already), in case
 * the object stops between its answer and its index write: the longest the index stays behind a
 * transition that was answered (an object that restarts sooner catches up as it starts). A busy
 * instance thus sets it about once every this long.
 */
const SYNC_SAFETY_MS = 10_000;
/**
 * Through the indexer, an update leaves at the soonest this long after the one before it left,
 * unless INDEX_UPDATE_FULL transitions wait (then at once, as for one busy instance); after a
 * quiet spell it leaves at once. An instance taking a few transitions a second (100 instances at
 * once) otherwise sent one update per transition: a history read, an RPC, a row in the indexer's
 * batch and a storage write each. Spaced, one update carries several (bench:workflows (w2), two
 * builds side by side, 4 pairs: 1.84 -> 1.61 ms of server CPU per transition, 530 -> 610/s). The
 * index lags a busy instance by at most this plus the indexer's window while nothing fails.
 */
export const INDEX_UPDATE_SPACING_MS = 2000;
/** Transitions not yet sent to the indexer that send an update without waiting for the spacing. */
const INDEX_UPDATE_FULL = 50;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS instance (
  id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, template TEXT NOT NULL, state TEXT NOT NULL,
  version INTEGER NOT NULL, data TEXT NOT NULL, subject TEXT, parent_id TEXT, created_by TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, timeout_at INTEGER
);
CREATE TABLE IF NOT EXISTS history (
  version INTEGER PRIMARY KEY, transition TEXT, from_state TEXT, to_state TEXT NOT NULL, actor TEXT NOT NULL,
  at TEXT NOT NULL, request_id TEXT, data TEXT NOT NULL, actions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS children (
  id TEXT PRIMARY KEY, template_id TEXT NOT NULL, state TEXT NOT NULL, terminal INTEGER NOT NULL, version INTEGER NOT NULL
);`;

const notFound = () => new ApiError(404, "No workflow instance of this organization has this id.");

/** Storage key: the trace context of the transition that set the current state's timeout (only kept while telemetry exports). */
const TIMEOUT_TRACE = "timeout_trace";
type TimeoutTrace = TraceContext & { version: number };

/** A transition's telemetry: its span, a child of `parent` (the caller's span, or the alarm's), or a new trace's first. */
function transitionTelemetry(env: Env, inst: Instance, t: TransitionDef, parent: string | undefined): Telemetry {
  return new Telemetry(env, "gateway", {
    parent,
    name: "workflow transition",
    kind: "internal",
    attributes: {
      "buildly.workflow.transition": t.key,
      "buildly.workflow.from": inst.state,
      "buildly.organization_id": inst.organization_id,
    },
  });
}

/** Who holds a watcher's socket, kept with it, so every delivery asks whether they still may read. */
interface WatcherAttachment {
  /** The token's expiry (epoch seconds), 0 for none. */
  exp: number;
  principal?: Principal;
  /** Whether the gateway issued the token: only then does it answer for the account's state. */
  own?: boolean;
}

/** Close codes of a watcher whose access ended: 4401 the token expired, 4403 the account or its roles no longer allow reading. */
const EXPIRED = 4401;
const REVOKED = 4403;

/**
 * One running workflow: its state, version, data, history, children and watchers, in the
 * object's own SQLite storage. Every change runs in `serial`, one after another: a transition
 * whose actions wait for a service holds the line, so no other transition sees the state
 * half-way (the object's input gate alone would let them in while it waits).
 */
export class WorkflowInstance extends DurableObject<Env> {
  private inst: Instance | undefined;
  private loading: Promise<Instance | undefined> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private alarmAt: number | null = null;
  private indexRun: Promise<void> | undefined;
  private indexSoon: Promise<void> | undefined;
  /** When the last update through the indexer left (0: none yet). */
  private indexSentAt = 0;
  /** Ends the wait of an update held for the spacing, once INDEX_UPDATE_FULL transitions wait. */
  private indexWake: (() => void) | undefined;
  /** EVENTED_VERSION as last read or written here (undefined: not read yet). */
  private eventedVersion: number | undefined;
  /** eventedVersion moved past what storage holds (saveEvented stores it with the next change). */
  private eventedUnsaved = false;
  private parentRun: Promise<void> | undefined;
  /** Deliveries to watchers, one after another, so each watcher sees the versions in order. */
  private delivery: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(SCHEMA);
      this.inst = this.readLocal();
      this.alarmAt = await ctx.storage.getAlarm();
      // Stopped between answering a transition and writing the index: catch up now, not at the alarm.
      if (this.inst && this.inst.index_version < this.inst.version) ctx.waitUntil(this.sync({ parent: false }));
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // --- RPC ------------------------------------------------------------------------------------

  async init(p: InitParams, viewer: Viewer | null): Promise<RpcResult<InstanceView>> {
    return this.result(p.request_id, async () => {
      const existing = this.inst ?? this.readLocal();
      if (existing) {
        if (existing.id !== p.id || existing.organization_id !== p.organization_id) throw notFound();
        return this.view(existing, viewer);
      }
      return this.view(this.create(p), viewer);
    });
  }

  async get(org: string, id: string, viewer: Viewer | null): Promise<RpcResult<InstanceView>> {
    return this.result(null, async () => this.view(await this.ensure(org, id), viewer));
  }

  async history(org: string, id: string, afterVersion: number, limit: number): Promise<RpcResult<{ data: HistoryEntry[]; next_cursor: string | null }>> {
    return this.result(null, async () => {
      await this.ensure(org, id);
      const rows = this.ctx.storage.sql.exec<HistoryRow>("SELECT * FROM history WHERE version > ? ORDER BY version LIMIT ?", afterVersion, limit + 1).toArray();
      const page = rows.slice(0, limit).map(toEntry);
      const last = page[page.length - 1];
      return { data: page, next_cursor: rows.length > limit && last ? encodeCursor({ k: String(last.version), id }) : null };
    });
  }

  async transition(org: string, id: string, req: TransitionRequest, caller: Caller): Promise<RpcResult<InstanceView>> {
    return this.result(caller.identity.request_id, async () => {
      const inst = await this.serial(() => this.take(org, id, req.transition, caller, req.expected_version, req.data ?? {}));
      // The answer does not wait for the D1 index (nor its events' outbox rows): the transition is
      // durable here, with the alarm that retries the index write should this object stop first.
      // Except the end, once per instance: it frees a place in the organization's quota of running
      // instances, which starts count in the index, so the caller may start another at once.
      if (inst.template.states.find((s) => s.key === inst.state)?.terminal) await this.sync({ parent: false });
      else this.ctx.waitUntil(this.syncIndexSoon());
      // A parent learns of its child before the child's caller gets the answer (an object to object call, no D1).
      if (inst.parent_id) await this.sync({ index: false });
      return this.view(inst, caller);
    });
  }

  /** A child tells its parent where it is; a waiting parent moves on once every child has ended. */
  async childChanged(org: string, id: string, child: Child): Promise<void> {
    const inst = await this.ensure(org, id).catch(() => undefined);
    if (!inst) return;
    this.ctx.storage.sql.exec(
      `INSERT INTO children (id, template_id, state, terminal, version) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, terminal = excluded.terminal, version = excluded.version
       WHERE excluded.version > children.version`,
      child.id,
      child.template_id,
      child.state,
      child.terminal ? 1 : 0,
      child.version,
    );
    // Not awaited: our queue may be busy (an action waiting on a service); the child need not wait for it.
    if (child.terminal)
      void this.serial(() => this.advanceIfChildrenDone()).catch((err) => logError(`workflow:${id}`, "gateway", err, { during: "workflow children" }));
  }

  /** The WebSocket of /v1/workflows/instances/{id}/events; the gateway has checked the caller. */
  async fetch(request: Request): Promise<Response> {
    const org = request.headers.get("x-workflow-organization") ?? "";
    const id = request.headers.get("x-workflow-instance") ?? "";
    const requestId = request.headers.get("x-request-id") ?? crypto.randomUUID();
    try {
      const inst = await this.ensure(org, id);
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
        throw new ApiError(426, "This endpoint speaks WebSocket only.", { headers: { upgrade: "websocket" } });
      if (this.ctx.getWebSockets().length >= MAX_WATCHERS)
        throw new ApiError(503, "This instance has too many watchers.", { headers: { "retry-after": "10" } });
      const pair = new WebSocketPair();
      const [client, server] = [pair[0], pair[1]];
      this.ctx.acceptWebSocket(server);
      const principal = parsePrincipal(request.headers.get("x-principal"));
      server.serializeAttachment({
        exp: Number(request.headers.get("x-token-exp") ?? "0"),
        principal,
        own: request.headers.get("x-own-token") === "1",
      } satisfies WatcherAttachment);
      // The socket closes when its token expires, even if no transition is ever broadcast.
      await this.scheduleAlarm(false);
      server.send(JSON.stringify({ type: "snapshot", instance: this.view(inst, null) }));
      const headers: Record<string, string> = {};
      const protocol = request.headers.get("x-websocket-protocol");
      if (protocol) headers["sec-websocket-protocol"] = protocol;
      return new Response(null, { status: 101, webSocket: client, headers });
    } catch (err) {
      const e = toApiError(err);
      if (e.status >= 500 && !(err instanceof ApiError)) logError(requestId, "gateway", err, { during: "workflow events" });
      return problemResponse(e.toProblem(requestId), e.headers);
    }
  }

  async webSocketMessage(): Promise<void> {
    // Watchers only listen; "ping" is answered by the auto-response without waking the object.
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      // 1005 and 1006 describe a close without a frame; they may not be sent back.
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  /** Timeouts, and retries of keeping the index and the parent in step. */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    this.closeExpired();
    const inst = this.inst ?? this.readLocal();
    if (!inst) return;
    if (inst.timeout_at !== null && inst.timeout_at <= Date.now()) {
      const state = inst.template.states.find((s) => s.key === inst.state);
      const version = inst.version;
      if (state?.on_timeout) {
        const tel = telemetryConfig(this.env, "gateway") ? this.alarmTelemetry(inst, state.on_timeout) : undefined;
        await this.serial(async () => {
          // Taken only if nothing moved the instance since the alarm was due.
          if (this.inst!.version !== version) return this.inst!;
          return this.take(inst.organization_id, inst.id, state.on_timeout!, null, version, {}, tel?.traceparent());
        }).catch((err) => {
          tel?.root.fail(err);
          logError(`workflow:${inst.id}`, "gateway", err, { during: "workflow timeout" });
        });
        if (tel) {
          tel.root.end();
          this.ctx.waitUntil(tel.flush());
        }
      }
    }
    await this.sync();
    if (this.eventedUnsaved) this.saveEvented();
    await this.scheduleAlarm(true, true);
  }

  // --- transitions ----------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.queued >= MAX_QUEUE) {
      return Promise.reject(new ApiError(503, "Too many transitions are waiting on this instance. Retry shortly.", { headers: { "retry-after": "1" } }));
    }
    this.queued++;
    const run = this.tail.then(fn, fn).finally(() => this.queued--);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private mayTake(caller: Caller | Viewer | null, t: TransitionDef): boolean {
    if (caller === null) return true;
    if (t.system_only) return false;
    if (t.roles?.length) return caller.roles.some((r) => t.roles!.includes(r));
    return caller.can_update;
  }

  /** Runs inside `serial`. `caller` null is the system (a timeout, the children finishing). */
  private async take(
    org: string,
    id: string,
    key: string,
    caller: Caller | null,
    expectedVersion: number | undefined,
    input: Record<string, unknown>,
    /** The trace of a system transition (the alarm's span); a caller's comes in its identity context. */
    trace?: string,
  ): Promise<Instance> {
    const inst = await this.ensure(org, id);
    const t = inst.template.transitions.find((x) => x.key === key);
    if (!t) throw new ApiError(422, `The template has no transition ${key}.`, { errors: [{ path: "transition", message: "Unknown transition" }] });
    if (caller && t.system_only) {
      throw new ApiError(403, `${key} is taken only by the instance itself (a timeout or its children finishing); no caller may take it.`, {
        type: "https://buildly.dev/problems/system-only-transition",
        title: "System-only transition",
      });
    }
    if (!this.mayTake(caller, t)) {
      throw new ApiError(
        403,
        t.roles?.length ? `Only ${t.roles.join(", ")} may take ${key}.` : `Your roles do not allow update on workflows, which ${key} needs.`,
      );
    }
    if (expectedVersion !== undefined && expectedVersion !== inst.version) {
      throw new ApiError(409, `The instance is at version ${inst.version}, not ${expectedVersion}. Reload it and decide again.`, {
        extensions: { state: inst.state, version: inst.version },
      });
    }
    if (!t.from.includes(inst.state)) {
      throw new ApiError(409, `${key} cannot be taken from ${inst.state} (only from ${t.from.join(", ")}).`, {
        extensions: { state: inst.state, version: inst.version },
      });
    }
    if (!caller && this.systemStreak() >= MAX_SYSTEM_STREAK) return this.stopMovingAlone(inst, key);
    const data = { ...inst.data, ...input };
    checkDataSize(this.env, data);
    // The children cap counts the ones this transition would start, before any of them starts.
    const starts = (t.actions ?? []).filter((a) => a.type === "start_workflow").length;
    if (starts) {
      const count = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM children").one().n;
      if (count + starts > MAX_CHILDREN) {
        throw new ApiError(409, `An instance may start at most ${MAX_CHILDREN} children: it has ${count}, and ${key} would start ${starts} more.`, {
          extensions: { children: count, max_children: MAX_CHILDREN },
        });
      }
    }
    const actor = caller?.actor ?? SYSTEM;
    const scope: ActionScope = { instance: { id: inst.id, version: inst.version, state: inst.state }, subject: inst.subject, data, actor };
    const outcomes: ActionOutcome[] = [];
    const children: Child[] = [];
    const attempt = this.attemptOf(inst.version, t.key);
    const done: Undo[] = [];
    // Only when telemetry exports: the transition as a span of the caller's (or the alarm's) trace, its actions its children.
    const tel = telemetryConfig(this.env, "gateway") ? transitionTelemetry(this.env, inst, t, caller?.identity.traceparent ?? trace) : undefined;
    try {
      for (const [i, action] of (t.actions ?? []).entries()) {
        if (!caller) throw new ApiError(500, "A transition with actions has no caller to act for.");
        const span = tel?.span(`workflow action ${action.type}`, {
          attributes: {
            "buildly.workflow.action.index": i,
            "buildly.workflow.action.type": action.type,
            "buildly.workflow.action.service": action.type === "start_workflow" ? undefined : action.service,
            "buildly.workflow.action.model": action.type === "start_workflow" ? undefined : action.model,
          },
        });
        try {
          if (action.type === "start_workflow") {
            const child = await this.startChild(inst, caller, t.key, i, action.template_id, fill(action.data, scope) as Record<string, unknown>);
            children.push(child);
            done.push({ label: `discard child instance ${child.id}`, run: () => this.discardChild(inst, child.id) });
            outcomes.push({ type: "start_workflow", service: null, model: null, status: 201, id: child.id, replayed: false });
          } else {
            // Traced: the service's span (and the idempotency store's) become the action span's children.
            const actionTrace = tel && span ? tel.traceparent(span) : undefined;
            const identity = actionTrace ? { ...caller.identity, traceparent: actionTrace } : caller.identity;
            const ran = await runServiceAction(this.env, identity, action, i, actionKey(inst.id, inst.version, t.key, i, attempt), scope, actionTrace);
            done.push(ran.undo);
            outcomes.push(ran.outcome);
            span?.setAttributes({
              "buildly.workflow.action.status": ran.outcome.status ?? undefined,
              "buildly.workflow.action.replayed": ran.outcome.replayed,
            });
          }
        } catch (err) {
          span?.fail(err);
          throw err;
        } finally {
          span?.end();
        }
      }
    } catch (err) {
      if (tel) {
        tel.root.fail(err);
        tel.root.end();
        this.ctx.waitUntil(tel.flush());
      }
      if (!done.length) throw err;
      throw await this.undoAttempt(inst, t.key, attempt, done, err);
    }
    const next = this.commit(inst, t, actor, caller?.identity.request_id ?? null, input, data, outcomes, children);
    if (tel) this.observeTransition(tel, next, caller, !caller && inst.template.states.find((st) => st.key === inst.state)?.on_timeout === t.key);
    return next;
  }

  /**
   * The transition's span ended, counted (buildly.workflow.transitions / timeouts / completions)
   * and exported. When the new state has a timeout, its context is kept (with the version it
   * belongs to) for the alarm that takes the timeout to link to.
   */
  private observeTransition(tel: Telemetry, next: Instance, caller: Caller | null, timeout: boolean): void {
    const terminal = Boolean(next.template.states.find((st) => st.key === next.state)?.terminal);
    tel.root.setAttributes({ "buildly.workflow.to": next.state, "buildly.workflow.timeout": timeout, "buildly.workflow.version": next.version });
    tel.count("buildly.workflow.transitions", { state: next.state, by: caller ? "caller" : "system" });
    if (timeout) tel.count("buildly.workflow.timeouts", {});
    if (terminal) tel.count("buildly.workflow.completions", { organization: next.organization_id });
    if (next.timeout_at !== null) this.ctx.storage.kv.put<TimeoutTrace>(TIMEOUT_TRACE, { version: next.version, ...tel.context() });
    tel.root.end();
    this.ctx.waitUntil(tel.flush());
  }

  /**
   * The span of an alarm that takes a state's timeout: a new trace (a timeout may come hours or
   * days after the transition that set it, longer than a trace should last), linked to that
   * transition's span when its context was kept, and sampled as that transition was.
   */
  private alarmTelemetry(inst: Instance, timeoutTransition: string): Telemetry {
    const set = this.ctx.storage.kv.get<TimeoutTrace>(TIMEOUT_TRACE);
    const linked = set?.version === inst.version ? set : undefined;
    return new Telemetry(this.env, "gateway", {
      name: "workflow alarm",
      kind: "internal",
      sampled: linked?.sampled,
      links: linked ? [{ traceId: linked.traceId, spanId: linked.spanId, attributes: { "buildly.link": "timeout set by" } }] : undefined,
      attributes: {
        "buildly.workflow.state": inst.state,
        "buildly.workflow.transition": timeoutTransition,
        "buildly.workflow.version": inst.version,
        "buildly.organization_id": inst.organization_id,
      },
    });
  }

  // --- half-run transitions -------------------------------------------------------------------

  /** The attempt a transition is at, at a version: 0 until an attempt fails after some of its actions ran. */
  private attemptOf(version: number, key: string): number {
    const a = this.ctx.storage.kv.get<{ version: number; attempts: Record<string, number> }>("attempts");
    return a?.version === version ? (a.attempts[key] ?? 0) : 0;
  }

  /**
   * An action failed after others ran: takes those back, last first (a created record deleted, an
   * updated one's fields put back, a started child discarded), and moves the transition to its
   * next attempt, whose actions get new idempotency keys. A retry, with the same data or corrected
   * data, then runs every action afresh and nothing of the failed attempt is left behind, except
   * what could not be undone, which the problem names in `not_undone`.
   */
  private async undoAttempt(inst: Instance, key: string, attempt: number, done: Undo[], err: unknown): Promise<ApiError> {
    const undone: string[] = [];
    const notUndone: string[] = [];
    for (const step of [...done].reverse()) {
      try {
        if (!step.run) throw new Error("nothing known to undo it with");
        await step.run();
        undone.push(step.label);
      } catch (e) {
        logError(`workflow:${inst.id}`, "gateway", e, { during: "workflow action undo", step: step.label });
        notUndone.push(step.label);
      }
    }
    const a = this.ctx.storage.kv.get<{ version: number; attempts: Record<string, number> }>("attempts");
    const attempts = a?.version === inst.version ? a.attempts : {};
    this.ctx.storage.kv.put("attempts", { version: inst.version, attempts: { ...attempts, [key]: attempt + 1 } });
    const e = toApiError(err);
    const note = notUndone.length
      ? ` The earlier actions were undone except ${notUndone.join(", ")} (see not_undone).`
      : " What the earlier actions did was undone: retry, with corrected data if need be.";
    return new ApiError(e.status, `${e.message}${e.status < 500 || err instanceof ApiError ? note : ""}`, {
      type: e.type,
      title: e.title,
      errors: e.errors,
      headers: e.headers,
      extensions: { ...e.extensions, undone, ...(notUndone.length ? { not_undone: notUndone } : {}) },
    });
  }

  /** Undoes a child this instance started in a failed attempt: gone from the index and its object emptied, if it has not moved. */
  private async discardChild(parent: Instance, childId: string): Promise<void> {
    const discarded = await this.env.WORKFLOWS.getByName(`${parent.organization_id}:${childId}`).discard(parent.organization_id, childId, parent.id);
    if (!discarded) throw new Error(`child ${childId} has moved on`);
  }

  /** Called by the parent whose transition started this instance and then failed: forget everything, if nothing happened yet. */
  async discard(org: string, id: string, parentId: string): Promise<boolean> {
    return this.serial(async () => {
      const inst = this.inst ?? this.readLocal();
      if (!inst) {
        // Never started (its init failed): only the index row is left to remove.
        await deleteIndexRow(this.env.DB, org, id);
        return true;
      }
      if (inst.organization_id !== org || inst.id !== id || inst.parent_id !== parentId || inst.version !== 1) return false;
      await deleteIndexRow(this.env.DB, org, id);
      for (const ws of this.ctx.getWebSockets()) ws.close(1001, "This instance was discarded: the transition that started it failed.");
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.ctx.storage.sql.exec(SCHEMA);
      this.inst = undefined;
      this.eventedVersion = undefined;
      this.eventedUnsaved = false;
      this.alarmAt = null;
      return true;
    });
  }

  // --- moving by itself -----------------------------------------------------------------------

  /** How many transitions the system took in a row, latest first, up to MAX_SYSTEM_STREAK. */
  private systemStreak(): number {
    const rows = this.ctx.storage.sql.exec<{ actor: string }>("SELECT actor FROM history ORDER BY version DESC LIMIT ?", MAX_SYSTEM_STREAK).toArray();
    let n = 0;
    for (const r of rows) {
      if ((JSON.parse(r.actor) as Actor).type !== "system") break;
      n++;
    }
    return n;
  }

  /** The streak is full: the instance stays where it is, its timeout cleared, until a person's transition. */
  private stopMovingAlone(inst: Instance, key: string): Instance {
    logError(`workflow:${inst.id}`, "gateway", new Error(`${MAX_SYSTEM_STREAK} system transitions in a row; ${key} not taken`), {
      during: "workflow system streak",
    });
    if (inst.timeout_at === null) return inst;
    this.ctx.storage.sql.exec("UPDATE instance SET timeout_at = NULL");
    this.inst = { ...inst, timeout_at: null };
    return this.inst;
  }

  private async startChild(
    parent: Instance,
    caller: Caller,
    transition: string,
    index: number,
    templateId: string,
    data: Record<string, unknown>,
  ): Promise<Child> {
    // Placeholders may copy the parent's data many times over: the child's data is held to the same quota.
    checkDataSize(this.env, data, `transitions.${transition}.actions.${index}.data`);
    const template = await getTemplate(this.env.DB, parent.organization_id, templateId);
    if (!template)
      throw new ApiError(424, `The child template ${templateId} no longer exists.`, {
        title: "Failed Dependency",
        type: "https://buildly.dev/problems/action-failed",
      });
    const child = await startInstance(
      this.env,
      {
        id: await childId(parent.id, parent.version, transition, index),
        organization_id: parent.organization_id,
        template,
        subject: parent.subject,
        data,
        created_by: caller.actor,
        request_id: caller.identity.request_id,
        parent_id: parent.id,
      },
      null,
    );
    return { id: child.id, template_id: child.template_id, state: child.state, terminal: child.terminal, version: child.version };
  }

  private commit(
    inst: Instance,
    t: TransitionDef,
    actor: Actor,
    requestId: string | null,
    input: Record<string, unknown>,
    data: Record<string, unknown>,
    outcomes: ActionOutcome[],
    children: Child[],
  ): Instance {
    const to = inst.template.states.find((s) => s.key === t.to)!;
    const now = nowIso();
    const next: Instance = {
      ...inst,
      state: to.key,
      version: inst.version + 1,
      data,
      updated_at: now,
      timeout_at: to.timeout_seconds ? Date.now() + to.timeout_seconds * 1000 : null,
    };
    const entry: HistoryEntry = {
      version: next.version,
      transition: t.key,
      from: inst.state,
      to: to.key,
      actor,
      time: now,
      request_id: requestId,
      data: input,
      actions: outcomes,
    };
    this.ctx.storage.transactionSync(() => {
      if (this.eventedUnsaved) this.saveEvented();
      this.insertHistory(entry);
      this.ctx.storage.sql.exec(
        "UPDATE instance SET state = ?, version = ?, data = ?, updated_at = ?, timeout_at = ?",
        next.state,
        next.version,
        JSON.stringify(next.data),
        next.updated_at,
        next.timeout_at,
      );
      for (const c of children) {
        this.ctx.storage.sql.exec(
          "INSERT INTO children (id, template_id, state, terminal, version) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
          c.id,
          c.template_id,
          c.state,
          c.terminal ? 1 : 0,
          c.version,
        );
      }
    });
    this.inst = next;
    void this.scheduleAlarm(false);
    this.broadcast({ type: "transition", instance_id: next.id, state: next.state, terminal: to.terminal, ...entry });
    if (to.wait_for_children)
      void this.serial(() => this.advanceIfChildrenDone()).catch((err) => logError(`workflow:${next.id}`, "gateway", err, { during: "workflow children" }));
    return next;
  }

  /** Runs inside `serial`: a waiting state whose children have all ended takes its transition. */
  private async advanceIfChildrenDone(): Promise<Instance | undefined> {
    const inst = this.inst;
    if (!inst) return undefined;
    const state = inst.template.states.find((s) => s.key === inst.state)!;
    const t = childrenDoneTransition(inst.template, state);
    if (!t) return inst;
    const open = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM children WHERE terminal = 0").one().n;
    if (open > 0) return inst;
    const next = await this.take(inst.organization_id, inst.id, t.key, null, inst.version, {});
    void this.sync();
    return next;
  }

  // --- keeping the index and the parent in step ------------------------------------------------

  /**
   * Best effort now; whatever fails is retried by the alarm soon after. The index is written by
   * the object itself (`via: "direct"`: an ending, a catch-up as it starts, the alarm's retry) or
   * through its organization's indexer with other objects' updates (after a transition's window).
   */
  private async sync(which: { index?: boolean; parent?: boolean; via?: IndexVia } = {}): Promise<void> {
    let failed = false;
    const fail = (during: string) => (err: unknown) => {
      failed = true;
      logError(`workflow:${this.inst?.id}`, "gateway", err, { during });
    };
    await Promise.all([
      which.index !== false ? this.syncIndex(which.via ?? "direct").catch(fail("workflow index")) : undefined,
      which.parent !== false ? this.syncParent().catch(fail("workflow parent")) : undefined,
    ]);
    if (failed) await this.scheduleAlarm(false, true);
  }

  /**
   * The index update after a transition, through the organization's indexer (indexer.ts), which
   * writes the updates of many instances in one D1 batch after INDEXER_COALESCE_MS: with many
   * instances moving a few times a second each, a D1 write per transition cost about as much CPU
   * as the transition. One update at a time: it leaves at once when none is on its way, else right
   * after the one on its way (or INDEX_UPDATE_SPACING_MS after it left, unless INDEX_UPDATE_FULL
   * transitions wait), carrying every transition answered meanwhile. The index lags an answer by
   * at most the spacing, an indexer window and a D1 write while nothing fails, SYNC_SAFETY_MS if
   * the object stops.
   */
  private syncIndexSoon(): Promise<void> {
    if (this.indexWake && this.indexBacklog() >= INDEX_UPDATE_FULL) this.indexWake();
    this.indexSoon ??= (this.indexRun ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.indexSpacing())
      .then(() => {
        this.indexSoon = undefined;
        this.indexSentAt = Date.now();
        return this.sync({ parent: false, via: "indexer" });
      });
    return this.indexSoon;
  }

  /** Transitions taken and not yet sent with an index update. */
  private indexBacklog(): number {
    return this.inst ? this.inst.version - this.evented() : 0;
  }

  /** Waits until INDEX_UPDATE_SPACING_MS after the last update left, or until INDEX_UPDATE_FULL transitions wait. */
  private indexSpacing(): Promise<void> | undefined {
    const wait = this.indexSentAt + INDEX_UPDATE_SPACING_MS - Date.now();
    if (wait <= 0 || this.indexBacklog() >= INDEX_UPDATE_FULL) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.indexWake = undefined;
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.indexWake = done;
    });
  }

  /** One write at a time, each carrying the latest state: many transitions share one write. */
  private async syncIndex(via: IndexVia): Promise<void> {
    for (let i = 0; i < 3 && this.inst && this.inst.index_version < this.inst.version; i++) {
      this.indexRun ??= this.writeIndex(via).finally(() => (this.indexRun = undefined));
      await this.indexRun;
    }
  }

  private async writeIndex(via: IndexVia): Promise<void> {
    const s = this.inst!;
    const terminal = s.template.states.find((x) => x.key === s.state)?.terminal ?? false;
    // The transitions not yet in the outbox go with the index write, at most `chunk` a write.
    // Through the indexer each write waits for its window (100 ms): 100 a window (up to 1000 a
    // second) keeps one busy instance's updates (about 700 transitions a second locally) from
    // falling behind, as 50 would; it is also what one outbox claim takes (CLAIM_NEW_SQL).
    const chunk = via === "indexer" ? 100 : 50;
    for (;;) {
      const after = this.evented();
      const rows = this.ctx.storage.sql
        .exec<HistoryRow>("SELECT * FROM history WHERE version > ? AND version <= ? ORDER BY version LIMIT ?", after, s.version, chunk)
        .toArray();
      const events = rows
        .map(toEntry)
        .filter((e) => e.transition !== null)
        .map((e) => transitionEvent({ ...e, instance_id: s.id, organization_id: s.organization_id, template_id: s.template.id, subject: s.subject }));
      const update: IndexUpdate = {
        organization_id: s.organization_id,
        id: s.id,
        state: s.state,
        terminal,
        version: s.version,
        updated_at: s.updated_at,
        events,
      };
      if (via === "indexer") {
        const written = await this.env.WORKFLOW_INDEX.getByName(indexerName(s.organization_id, s.id)).write(update);
        if (!written.ok) throw new Error(`the indexer did not write the update: ${written.error}`);
      } else await writeIndexUpdates(this.env, [update], (p) => this.ctx.waitUntil(p));
      if (!rows.length) break;
      this.eventedVersion = rows[rows.length - 1]!.version;
      // Through the indexer the object is busy (one write per transition across many instances):
      // the version is stored with the next change instead (commit, alarm), not in a storage write
      // of its own. Stored behind, it only makes a restart send those transitions again, which
      // adds nothing (event ids per version, INSERT OR IGNORE; the row only moves forward).
      if (via === "indexer") this.eventedUnsaved = true;
      else this.saveEvented();
      if (rows.length < chunk) break;
    }
    if (this.inst!.index_version < s.version) this.inst!.index_version = s.version;
  }

  /** Stores EVENTED_VERSION if an index write through the indexer moved it since it was last stored. */
  private saveEvented(): void {
    this.eventedUnsaved = false;
    if (this.eventedVersion !== undefined) this.ctx.storage.kv.put(EVENTED_VERSION, this.eventedVersion);
  }

  /** EVENTED_VERSION, read from storage once (a read per index write cost more than the write's own SQL). */
  private evented(): number {
    this.eventedVersion ??= this.ctx.storage.kv.get<number>(EVENTED_VERSION) ?? 1;
    return this.eventedVersion;
  }

  private async syncParent(): Promise<void> {
    for (let i = 0; i < 3 && this.inst?.parent_id && this.inst.parent_version < this.inst.version; i++) {
      this.parentRun ??= this.tellParent().finally(() => (this.parentRun = undefined));
      await this.parentRun;
    }
  }

  private async tellParent(): Promise<void> {
    const s = this.inst!;
    const terminal = s.template.states.find((x) => x.key === s.state)?.terminal ?? false;
    const parent = this.env.WORKFLOWS.getByName(`${s.organization_id}:${s.parent_id}`);
    await parent.childChanged(s.organization_id, s.parent_id!, { id: s.id, template_id: s.template.id, state: s.state, terminal, version: s.version });
    if (this.inst!.parent_version < s.version) this.inst!.parent_version = s.version;
  }

  /**
   * One alarm serves the state's timeout and keeping the index and the parent in step (a safety
   * net after each transition, a retry soon after a failure). It is moved only when it must fire
   * earlier than it is set for, so a stream of transitions does not rewrite it each time.
   */
  private async scheduleAlarm(recompute: boolean, retrySoon = false): Promise<void> {
    const inst = this.inst;
    if (!inst) return;
    const behind = inst.index_version < inst.version || (inst.parent_id !== null && inst.parent_version < inst.version);
    const wants = Math.min(
      inst.timeout_at ?? Infinity,
      behind ? Date.now() + (retrySoon ? SYNC_RETRY_MS : SYNC_SAFETY_MS) : Infinity,
      this.earliestWatcherExpiry(),
    );
    if (wants === Infinity) {
      if (recompute && this.alarmAt !== null) {
        this.alarmAt = null;
        await this.ctx.storage.deleteAlarm();
      }
      return;
    }
    if (recompute || this.alarmAt === null || wants < this.alarmAt) {
      this.alarmAt = wants;
      await this.ctx.storage.setAlarm(wants);
    }
  }

  // --- storage --------------------------------------------------------------------------------

  private create(p: InitParams): Instance {
    const initial = p.template.states.find((s) => s.key === p.template.initial_state)!;
    const inst: Instance = {
      id: p.id,
      organization_id: p.organization_id,
      template: p.template,
      state: initial.key,
      version: 1,
      data: p.data,
      subject: p.subject,
      parent_id: p.parent_id,
      created_by: p.created_by,
      created_at: p.created_at,
      updated_at: p.created_at,
      timeout_at: initial.timeout_seconds ? Date.parse(p.created_at) + initial.timeout_seconds * 1000 : null,
      // The index row was written with version 1 before the object started; a parent learns of
      // its child from the action that started it.
      index_version: 1,
      parent_version: 1,
    };
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        `INSERT INTO instance (id, organization_id, template, state, version, data, subject, parent_id, created_by, created_at, updated_at, timeout_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        inst.id,
        inst.organization_id,
        JSON.stringify(inst.template),
        inst.state,
        inst.version,
        JSON.stringify(inst.data),
        inst.subject ? JSON.stringify(inst.subject) : null,
        inst.parent_id,
        JSON.stringify(inst.created_by),
        inst.created_at,
        inst.updated_at,
        inst.timeout_at,
      );
      this.insertHistory({
        version: 1,
        transition: null,
        from: null,
        to: inst.state,
        actor: inst.created_by,
        time: inst.created_at,
        request_id: p.request_id,
        data: p.data,
        actions: [],
      });
    });
    this.inst = inst;
    void this.scheduleAlarm(false);
    if (initial.wait_for_children)
      void this.serial(() => this.advanceIfChildrenDone()).catch((err) => logError(`workflow:${inst.id}`, "gateway", err, { during: "workflow children" }));
    return inst;
  }

  private insertHistory(e: HistoryEntry): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO history (version, transition, from_state, to_state, actor, at, request_id, data, actions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      e.version,
      e.transition,
      e.from,
      e.to,
      JSON.stringify(e.actor),
      e.time,
      e.request_id,
      JSON.stringify(e.data),
      JSON.stringify(e.actions),
    );
  }

  private readLocal(): Instance | undefined {
    const row = this.ctx.storage.sql.exec<InstanceRow>("SELECT * FROM instance LIMIT 1").toArray()[0];
    if (!row) return undefined;
    return {
      id: row.id,
      organization_id: row.organization_id,
      template: JSON.parse(row.template),
      state: row.state,
      version: row.version,
      data: JSON.parse(row.data),
      subject: row.subject ? JSON.parse(row.subject) : null,
      parent_id: row.parent_id,
      created_by: JSON.parse(row.created_by),
      created_at: row.created_at,
      updated_at: row.updated_at,
      timeout_at: row.timeout_at,
      index_version: this.evented(),
      parent_version: 0,
    };
  }

  /**
   * The instance, if it is this organization's. An object with no state of its own but an index
   * row in D1 (the demo seed writes only D1) starts itself from that row, once.
   */
  private async ensure(org: string, id: string): Promise<Instance> {
    let inst = this.inst;
    if (!inst) {
      this.loading ??= this.startFromIndex(org, id).finally(() => (this.loading = undefined));
      inst = await this.loading;
    }
    if (!inst || inst.organization_id !== org || inst.id !== id) throw notFound();
    return inst;
  }

  private async startFromIndex(org: string, id: string): Promise<Instance | undefined> {
    const row = await readIndexRow(this.env.DB, org, id);
    if (!row || this.inst) return this.inst;
    const template = await getTemplate(this.env.DB, org, row.template_id, row.template_version);
    if (!template || this.inst) return this.inst;
    return this.create({
      id,
      organization_id: org,
      template: snapshotOf(template),
      subject:
        row.subject_service && row.subject_model && row.subject_id ? { service: row.subject_service, model: row.subject_model, id: row.subject_id } : null,
      data: row.init.data ?? {},
      parent_id: row.parent_id,
      created_by: row.init.created_by ?? SYSTEM,
      created_at: row.created_at,
      request_id: null,
    });
  }

  private view(inst: Instance, viewer: Viewer | null): InstanceView {
    const state = inst.template.states.find((s) => s.key === inst.state)!;
    const children = this.ctx.storage.sql
      .exec<{ id: string; template_id: string; state: string; terminal: number; version: number }>("SELECT * FROM children ORDER BY rowid")
      .toArray()
      .map((c) => ({ ...c, terminal: c.terminal === 1 }));
    const view: InstanceView = {
      id: inst.id,
      template_id: inst.template.id,
      template_version: inst.template.version,
      state: inst.state,
      terminal: state.terminal,
      version: inst.version,
      data: inst.data,
      subject: inst.subject,
      parent_id: inst.parent_id,
      children,
      timeout_at: inst.timeout_at === null ? null : new Date(inst.timeout_at).toISOString(),
      created_by: inst.created_by,
      created_at: inst.created_at,
      updated_at: inst.updated_at,
    };
    if (viewer) {
      view.available_transitions = inst.template.transitions
        .filter((t) => t.from.includes(inst.state) && this.mayTake(viewer, t))
        .map((t) => ({ key: t.key, name: t.name, to: t.to }));
    }
    return view;
  }

  private broadcast(event: Record<string, unknown>): void {
    if (!this.ctx.getWebSockets().length) return;
    const message = JSON.stringify(event);
    this.delivery = this.delivery
      .then(() => this.deliver(message))
      .catch((err) => logError(`workflow:${this.inst?.id}`, "gateway", err, { during: "workflow events" }));
  }

  /**
   * Sends one event to every watcher that may still read it. A watcher's access is its token's
   * (until `exp`) and its account's now: before each delivery the account's state and roles are
   * asked through the same per-isolate cache every request's authentication uses, so a
   * deactivation, a role taken away or a role losing `read` on workflows stops delivery at once in
   * the isolate that made the change and within that cache's 10 s elsewhere; the socket closes.
   */
  private async deliver(message: string): Promise<void> {
    const now = Date.now() / 1000;
    const verdicts = new Map<string, Promise<boolean>>();
    for (const ws of this.ctx.getWebSockets()) {
      try {
        const a = (ws.deserializeAttachment() ?? { exp: 0 }) as WatcherAttachment;
        if (a.exp && a.exp < now) {
          ws.close(EXPIRED, "The access token expired; reconnect with a fresh one.");
          continue;
        }
        let allowed = true;
        if (a.principal) {
          const p = a.principal;
          const key = `${p.kind}:${p.subject}:${p.issuer}:${p.roles.join(",")}`;
          let verdict = verdicts.get(key);
          if (!verdict) verdicts.set(key, (verdict = this.mayStillRead(p, a.own === true)));
          allowed = await verdict;
        }
        if (allowed) ws.send(message);
        else ws.close(REVOKED, "Your access to this instance ended (account deactivated or roles changed).");
      } catch {
        // A socket that is closing: it leaves getWebSockets() on its own.
      }
    }
  }

  private async mayStillRead(p: Principal, own: boolean): Promise<boolean> {
    const waitUntil = (x: Promise<unknown>) => this.ctx.waitUntil(x);
    try {
      const [state, defs, revoked] = await Promise.all([
        principalState(this.env.DB, p, own ? p.issuer : "", { waitUntil }),
        organizationRoles(this.env.DB, p.organization_id, waitUntil),
        // A token from a code whose grant was revoked (a replayed code) stops as every request does.
        p.grant ? grantRevoked(this.env.DB, p.grant, waitUntil) : false,
      ]);
      if (!state.active || revoked) return false;
      return (effectivePermissions(defs, state.roles, [WORKFLOWS])[WORKFLOWS] ?? []).includes("read");
    } catch (err) {
      // Not known to be allowed: deliver nothing (the watcher reconnects and is checked afresh).
      logError(`workflow:${this.inst?.id}`, "gateway", err, { during: "workflow watcher check" });
      return false;
    }
  }

  /** Epoch ms of the first watcher's token expiry, so the alarm closes it even when nothing is broadcast. */
  private earliestWatcherExpiry(): number {
    let first = Infinity;
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as WatcherAttachment | null;
      // One closing already (closeExpired) would wake the alarm at once, again and again.
      if (a?.exp && ws.readyState === WebSocket.OPEN) first = Math.min(first, a.exp * 1000);
    }
    return first;
  }

  private closeExpired(): void {
    const now = Date.now() / 1000;
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as WatcherAttachment | null;
      try {
        if (a?.exp && a.exp < now) ws.close(EXPIRED, "The access token expired; reconnect with a fresh one.");
      } catch {
        // Already closing.
      }
    }
  }

  /** Failures travel as values: a thrown ApiError would lose its status and fields across RPC. */
  private async result<T>(requestId: string | null, fn: () => Promise<T>): Promise<RpcResult<T>> {
    try {
      return { ok: true, data: await fn() };
    } catch (err) {
      const e = toApiError(err);
      const rid = requestId ?? crypto.randomUUID();
      if (!(err instanceof ApiError)) logError(rid, "gateway", err, { during: "workflow instance" });
      const problem = e.toProblem(rid);
      if (e.headers["retry-after"]) problem.retry_after = e.headers["retry-after"];
      return { ok: false, error: problem };
    }
  }
}

interface InstanceRow {
  id: string;
  organization_id: string;
  template: string;
  state: string;
  version: number;
  data: string;
  subject: string | null;
  parent_id: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  timeout_at: number | null;
  [k: string]: SqlStorageValue;
}

interface HistoryRow {
  version: number;
  transition: string | null;
  from_state: string | null;
  to_state: string;
  actor: string;
  at: string;
  request_id: string | null;
  data: string;
  actions: string;
  [k: string]: SqlStorageValue;
}

function parsePrincipal(header: string | null): Principal | undefined {
  if (!header) return undefined;
  try {
    return JSON.parse(header) as Principal;
  } catch {
    return undefined;
  }
}

function toEntry(r: HistoryRow): HistoryEntry {
  return {
    version: r.version,
    transition: r.transition,
    from: r.from_state,
    to: r.to_state,
    actor: JSON.parse(r.actor),
    time: r.at,
    request_id: r.request_id,
    data: JSON.parse(r.data),
    actions: JSON.parse(r.actions),
  };
}
