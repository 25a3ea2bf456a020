import { DurableObject } from "cloudflare:workers";
import { logError } from "@buildly/shared/service";

/** After an unexpected failure (D1 busy, an eviction mid-call) the alarm tries again this much later. */
const RETRY_MS = 5_000;
/** Unexpected failures in a row after which the alarm stops (the request stays running; a new POST resumes it). */
const MAX_RETRIES = 20;

/**
 * One subject request's runner (issue 23). `start` stores the request's id and sets an alarm;
 * the alarm runs the request on from the phase its D1 row records (runner.ts). An alarm survives
 * restarts and evictions, and an alarm that throws is set again, so the run resumes where it stopped.
 */
export class PrivacyRequest extends DurableObject<Env> {
  async start(id: string): Promise<void> {
    await this.ctx.storage.put("id", id);
    await this.ctx.storage.put("retries", 0);
    await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const id = await this.ctx.storage.get<string>("id");
    if (!id) return;
    try {
      // The runner (and the schemas it checks with) loads on the first alarm, not when an isolate starts.
      const { advance } = await import("./runner");
      const finished = await advance(this.env, id);
      if (!finished) await this.ctx.storage.setAlarm(Date.now());
    } catch (err) {
      logError(`privacy-${id}`, "gateway", err, { during: "privacy request" });
      const retries = ((await this.ctx.storage.get<number>("retries")) ?? 0) + 1;
      await this.ctx.storage.put("retries", retries);
      if (retries < MAX_RETRIES) await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
  }
}
