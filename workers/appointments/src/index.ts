import { ApiError, logicServiceEntrypoint, refuseDirectFetch, sweepOutbox, toApiError, type RpcResult } from "@buildly/shared/service";
import { app, SERVICE } from "./app";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export class AppointmentsService extends logicServiceEntrypoint<Env>(SERVICE, app, { models: () => import("./models").then((m) => m.models) }) {
  /**
   * The iCalendar feed a secret feed URL names, by the SHA-256 (hex) of its token: the gateway's
   * public feed route (no identity context: the token alone names organization and calendar).
   */
  async calendarFeedByTokenHash(tokenHash: unknown): Promise<RpcResult<string>> {
    const requestId = crypto.randomUUID();
    try {
      const { feedForTokenHash } = await import("./routes/feeds/feeds.handlers");
      const body = typeof tokenHash === "string" ? await feedForTokenHash(this.env.DB, tokenHash) : undefined;
      if (body === undefined) throw new ApiError(404, "No calendar feed has this URL.");
      return { ok: true, data: body };
    } catch (err) {
      return { ok: false, error: toApiError(err).toProblem(requestId) };
    }
  }
}

/** Serializes each calendar's overlap-checked writes. */
export { CalendarWriter } from "./scheduling/calendar-writer";

export default {
  fetch: refuseDirectFetch,
  /** The cron trigger (wrangler.toml): relays outbox events a relay left behind. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepOutbox(env).then((report) => console.log(JSON.stringify({ level: "info", msg: "outbox sweep", service: SERVICE, ...report }))));
  },
} satisfies ExportedHandler<Env>;
