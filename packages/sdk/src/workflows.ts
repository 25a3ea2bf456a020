import { NetworkError } from "./errors.ts";
import type { components } from "./generated/api.ts";

type Schemas = components["schemas"];

/** What the events socket of a workflow instance sends: its state first, then each transition. */
export type WorkflowEvent =
  | { type: "snapshot"; instance: Schemas["WorkflowInstance"] }
  | {
      type: "transition";
      version: number;
      transition: string;
      from: string;
      to: string;
      state: string;
      terminal: boolean;
      actor: unknown;
      time: string;
      request_id: string;
      data: unknown;
      actions: unknown;
    };

export interface WatchOptions {
  /** Stops the watch (the iterator then ends). */
  signal?: AbortSignal;
  /** Reconnects in a row, without a message in between, before giving up with NetworkError. Default 8. */
  maxReconnects?: number;
  /** End the iterator after the instance reaches a terminal state (default true). */
  untilTerminal?: boolean;
}

export interface WatchDeps {
  baseUrl: string;
  accessToken: () => Promise<string | undefined>;
  /** Called when a connection fails before any message: throws the API's error (404, 403) when there is one. */
  check: (id: string) => Promise<unknown>;
}

type Item = { kind: "message"; data: unknown } | { kind: "closed"; code: number; reason: string };

/**
 * GET /v1/workflows/instances/{id}/events as an async iterator. The token travels as the
 * subprotocols `bearer, <token>` (what browsers can send); a socket that closes (a network
 * failure, or 4401 when its token expired) is reopened with a fresh token, and the first message
 * after a reconnect is a new snapshot, so no transition goes unseen.
 */
export async function* watchWorkflow(deps: WatchDeps, id: string, options: WatchOptions = {}): AsyncGenerator<WorkflowEvent, void, undefined> {
  const url = `${deps.baseUrl.replace(/^http/, "ws")}/v1/workflows/instances/${encodeURIComponent(id)}/events`;
  const limit = options.maxReconnects ?? 8;
  let failures = 0;
  // The API's own answer first (no such instance, no access): a refused WebSocket handshake says nothing.
  await deps.check(id);
  while (!options.signal?.aborted) {
    const token = await deps.accessToken();
    const ws = new WebSocket(url, token ? ["bearer", token] : []);
    const items: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (item: Item) => {
      items.push(item);
      wake?.();
    };
    ws.addEventListener("message", (e) => push({ kind: "message", data: e.data }));
    ws.addEventListener("close", (e) => push({ kind: "closed", code: e.code, reason: e.reason }));
    // A handshake that never completes counts as a dropped connection.
    const opening = setTimeout(() => ws.readyState === WebSocket.CONNECTING && ws.close(), 30_000);
    ws.addEventListener("open", () => clearTimeout(opening));
    const onAbort = () => ws.close(1000, "done");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let received = false;
    let closed: { code: number; reason: string } | undefined;
    try {
      while (!closed) {
        if (!items.length) await new Promise<void>((r) => (wake = r));
        const item = items.shift()!;
        if (item.kind === "closed") {
          closed = item;
          break;
        }
        if (typeof item.data !== "string" || item.data === "pong") continue;
        received = true;
        failures = 0;
        const event = JSON.parse(item.data) as WorkflowEvent;
        yield event;
        const terminal = event.type === "snapshot" ? event.instance.terminal : event.terminal;
        if (terminal && options.untilTerminal !== false) return;
      }
    } finally {
      clearTimeout(opening);
      options.signal?.removeEventListener("abort", onAbort);
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000, "done");
    }
    if (options.signal?.aborted) return;
    if (!received) {
      // Refused at the handshake? The API says why (the instance was deleted, the access revoked).
      await deps.check(id);
      if (++failures > limit) throw new NetworkError(`The events of workflow ${id} could not be watched (closed ${closed?.code}).`, closed);
      await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** failures)));
    }
  }
}
