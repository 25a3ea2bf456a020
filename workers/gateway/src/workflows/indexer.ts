import { DurableObject } from "cloudflare:workers";
import { logError } from "@buildly/shared";
import { type IndexUpdate, writeIndexUpdates } from "./instance-index";

/**
 * How long an indexer waits for more objects' updates before it writes what it holds in one D1
 * batch (an object sends one update at a time, so a busy one sends about ten a second).
 */
export const INDEXER_COALESCE_MS = 100;
/** Indexers per organization: each object always uses the same one (indexerName). */
export const INDEXER_SHARDS = 4;
/** Statements in one D1 batch (an update, its events): what is beyond waits for the next write. */
const MAX_BATCH_STATEMENTS = 400;

/** The indexer an instance's object sends its updates to: one of its organization's INDEXER_SHARDS. */
export function indexerName(organizationId: string, instanceId: string): string {
  let h = 0;
  for (let i = 0; i < instanceId.length; i++) h = (h * 31 + instanceId.charCodeAt(i)) >>> 0;
  return `${organizationId}:${h % INDEXER_SHARDS}`;
}

/** A failure travels as a value: a rejected RPC result shows as an uncaught rejection in the indexer. */
export type IndexWrite = { ok: true } | { ok: false; error: string };

interface Waiting {
  update: IndexUpdate;
  done(result: IndexWrite): void;
}

const failed = (err: unknown): IndexWrite => ({ ok: false, error: err instanceof Error ? err.message : String(err) });

/**
 * Puts the index updates of many instances' objects in one D1 batch. An object writing its own
 * row after every transition's window made a hundred instances moving a few times a second each
 * write D1 once per transition, which costs about as much as the transition. The objects send
 * their updates here instead (one RPC each), and the indexer writes every update that came
 * within INDEXER_COALESCE_MS in one batch.
 *
 * It holds nothing durable: an object's `write` returns once its update is in D1, and only then
 * does the object count it written (EVENTED_VERSION). If the indexer stops or the batch fails, the
 * object's call fails and its alarm writes the index itself soon after, so nothing an object
 * answered is lost. A batch that fails is tried again one instance at a time, so one instance's
 * refused row does not hold back the others'.
 */
export class WorkflowIndexer extends DurableObject<Env> {
  private waiting: Waiting[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing = false;

  /** `ok` once the update (and its events) is in D1. */
  write(update: IndexUpdate): Promise<IndexWrite> {
    return new Promise<IndexWrite>((done) => {
      this.waiting.push({ update, done });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer !== undefined || this.writing || !this.waiting.length) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = true;
      this.ctx.waitUntil(
        this.flush().finally(() => {
          this.writing = false;
          this.schedule();
        }),
      );
    }, INDEXER_COALESCE_MS);
  }

  private async flush(): Promise<void> {
    let statements = 0;
    let n = 0;
    while (n < this.waiting.length && (n === 0 || statements + 1 + this.waiting[n]!.update.events.length <= MAX_BATCH_STATEMENTS)) {
      statements += 1 + this.waiting[n]!.update.events.length;
      n++;
    }
    const taken = this.waiting.splice(0, n);
    const waitUntil = (p: Promise<unknown>) => this.ctx.waitUntil(p);
    try {
      await writeIndexUpdates(
        this.env,
        taken.map((w) => w.update),
        waitUntil,
      );
      for (const w of taken) w.done({ ok: true });
    } catch (err) {
      if (taken.length === 1) return taken[0]!.done(failed(err));
      logError("workflow-indexer", "gateway", err, { during: "workflow index batch", updates: taken.length });
      for (const w of taken) {
        try {
          await writeIndexUpdates(this.env, [w.update], waitUntil);
          w.done({ ok: true });
        } catch (e) {
          w.done(failed(e));
        }
      }
    }
  }
}
